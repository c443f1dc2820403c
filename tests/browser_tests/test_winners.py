"""The winners page in Chromium: a team writes up its method (Markdown + PDF) in the
browser, the organizer freezes the standings, the track's page names the top 3."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from leaderboard.refresh import task_leaderboard_refresh
from tests.challenges_tests.factories import (
    PASSWORD,
    ChallengeFactory,
    TrackFactory,
    UserFactory,
    add_member,
)
from tests.leaderboard_tests.factories import make_task, make_team, scored
from tests.support.browser import login

pytestmark = [pytest.mark.browser]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_winners_page_names_the_top_three_with_their_methods(live_server, browser_page):
    now = timezone.now()
    challenge = ChallengeFactory(
        slug="cup", title="Cup", start=now - timedelta(days=9), end=now - timedelta(hours=1)
    )
    track = TrackFactory(
        challenge=challenge, slug="kway", title="K-way", prize="**1st**: a trip to the workshop"
    )
    tasks = [make_task(track, slug="k1"), make_task(track, slug="k2")]
    teams = {n: make_team(challenge, n) for n in ("Owls", "Bees", "Cats", "Dogs")}
    base = make_team(challenge, "AutoGluon", baseline=True)
    scores = {"Owls": 0.91, "Bees": 0.85, "Cats": 0.80, "Dogs": 0.70, "AutoGluon": 0.95}
    for task in tasks:
        for name, value in scores.items():
            team = base if name == "AutoGluon" else teams[name]
            scored(task, team, value, value, minutes=len(name))
        task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    alice = UserFactory(username="alice")
    add_member(teams["Owls"], alice)

    page = browser_page
    page.goto(f"{live_server.url}/tracks/kway/winners/")
    assert "named when the challenge ends" in page.locator("#not-final").inner_text()

    login(page, live_server.url, "alice", PASSWORD)
    page.goto(f"{live_server.url}/teams/{teams['Owls'].pk}/method/edit/")
    page.fill("input[name=title]", "Gradient boosting on n-grams")
    page.fill("textarea[name=body]", "We used **LightGBM**.<script>window.pwned=1</script>")
    page.set_input_files(
        "input[name=pdf]",
        files=[{"name": "method.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    page.locator("input[name=submissions]").first.check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/teams/\d+/method/$"))
    assert "Method write-up saved." in page.locator(".messages").inner_text()

    call_command("finish_challenge", "cup")
    # Frozen is not revealed: until the organizers reveal the private leaderboard, nobody but
    # them is named (test_reveal_browser.py checks the leak both ways).
    page.goto(f"{live_server.url}/tracks/kway/winners/")
    assert "sealed until the organizers reveal" in page.locator("#sealed").inner_text()
    assert page.locator("li.winner").count() == 0
    challenge.private_revealed = True
    challenge.save()
    page.goto(f"{live_server.url}/tracks/kway/winners/")
    winners = page.locator("li.winner")
    assert winners.count() == 3
    assert [winners.nth(i).get_attribute("data-team") for i in range(3)] == ["Owls", "Bees", "Cats"]
    first = winners.nth(0)
    # The rank is stated once, in the heading: no list number beside "#1".
    for i in range(3):
        item = winners.nth(i)
        assert item.evaluate("e => getComputedStyle(e).listStyleType") == "none"
        assert item.locator("h2").inner_text().startswith(f"#{i + 1} ")
    assert first.locator("h2").inner_text().startswith("#1 Owls")
    assert first.locator("h3.method-title").inner_text() == "Gradient boosting on n-grams"
    assert first.locator(".method strong").inner_text() == "LightGBM"
    assert page.evaluate("window.pwned") is None  # the write-up's script never ran
    assert "No method write-up." in winners.nth(1).inner_text()
    assert page.locator("#prize strong").inner_text() == "1st"
    assert "sha256" in page.locator("#frozen").inner_text()
    assert "AutoGluon" not in page.locator("ol.winners").inner_text()

    pdf = page.request.get(f"{live_server.url}/teams/{teams['Owls'].pk}/method.pdf")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF-")
