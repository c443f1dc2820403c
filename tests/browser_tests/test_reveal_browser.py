"""Frozen is not revealed, in Chromium (issue 25): after the freeze and before the reveal a
visitor reads no private score and no winner on the winners page or the track page; after
the reveal both show the private split."""

from __future__ import annotations

import pytest

from challenges.models import Challenge
from standings.services import challenge_finish
from tests.standings_tests.reveal_helpers import PRIVATE_TEXTS, build_world

pytestmark = [pytest.mark.browser]


def visible_text(page) -> str:
    return page.locator("body").inner_text()


def test_winners_and_track_pages_before_and_after_the_reveal(live_server, browser_page):
    challenge = build_world()
    challenge_finish(challenge=challenge)
    page = browser_page

    page.goto(f"{live_server.url}/tracks/kway/winners/")
    assert "sealed until the organizers reveal" in page.locator("#sealed").inner_text()
    assert page.locator("li.winner").count() == 0
    html = page.content()
    assert not [t for t in PRIVATE_TEXTS if t in html]
    for name in ("Owls", "Bees", "Cats", "Dogs"):
        assert name not in visible_text(page)

    page.goto(f"{live_server.url}/tracks/kway/")
    assert "public standings" in page.locator("h1").inner_text()
    assert not [t for t in PRIVATE_TEXTS if t in page.content()]
    assert page.get_by_text("Show the private standings").count() == 0
    assert page.goto(f"{live_server.url}/tracks/kway/?split=private").status == 404

    Challenge.objects.filter(pk=challenge.pk).update(private_revealed=True)
    page.goto(f"{live_server.url}/tracks/kway/winners/")
    winners = page.locator("li.winner")
    assert [winners.nth(i).get_attribute("data-team") for i in range(winners.count())] == [
        "Owls",
        "Bees",
        "Cats",
    ]
    assert "0.6778" in winners.nth(0).inner_text()  # the private mean, published now
    page.goto(f"{live_server.url}/tracks/kway/")
    page.get_by_text("Show the private standings").click()
    page.wait_for_url("**/tracks/kway/?split=private")
    assert "private standings" in page.locator("h1").inner_text()
    assert "0.6778" in visible_text(page)
