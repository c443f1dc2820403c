"""The public/private toggle (``{% split_toggle %}``) in Chromium, on a task board and a track
board: an organizer switches between the splits before the reveal; a visitor gets no toggle
until the reveal, then the same one."""

from __future__ import annotations

import pytest

from challenges.models import Challenge
from leaderboard.refresh import task_leaderboard_refresh
from tests.challenges_tests.factories import PASSWORD, ChallengeFactory, TrackFactory, UserFactory
from tests.leaderboard_tests.factories import make_task, make_team, scored
from tests.support.browser import login

pytestmark = [pytest.mark.browser]


@pytest.fixture
def board():
    """One task whose private rows reverse the public order of Owls and Hawks."""
    challenge = ChallengeFactory(slug="toggle-cup")
    track = TrackFactory(challenge=challenge, slug="toggle-track", title="Toggle Track")
    task = make_task(track, slug="toggle-task")
    scored(task, make_team(challenge, "Owls"), 0.90, 0.60, minutes=1)
    scored(task, make_team(challenge, "Hawks"), 0.80, 0.70, minutes=2)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    return challenge


def teams(page) -> list[str]:
    return page.locator("table.leaderboard:not(#pairwise) tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.team || r.querySelector('td:nth-child(2)').innerText)"
    )


# path, the heading's word, the heading, the toggle's word
CASES = [
    ("/tasks/toggle-task/leaderboard/", "leaderboard", "Toggle-Task", "board"),
    ("/tracks/toggle-track/", "standings", "Toggle Track", "standings"),
]


@pytest.mark.parametrize(("path", "noun", "heading", "toggle_noun"), CASES)
def test_the_toggle_switches_splits_for_whom_may_see_the_private_one(
    live_server, browser_page, new_page, board, path, noun, heading, toggle_noun
):
    url = live_server.url + path
    order = [["Owls", "Hawks"], ["Hawks", "Owls"]]  # public, private

    visitor = browser_page  # before the reveal: no toggle, and no private board by URL
    visitor.goto(url)
    assert visitor.get_by_role("link", name=f"Show the private {toggle_noun}").count() == 0
    assert visitor.goto(url + "?split=private").status == 404

    UserFactory(username="organizer", is_staff=True)
    organizer = new_page()
    login(organizer, live_server.url, "organizer", PASSWORD)
    _switch(organizer, url, toggle_noun, noun, heading, order)

    Challenge.objects.filter(pk=board.pk).update(private_revealed=True)
    _switch(visitor, url, toggle_noun, noun, heading, order)


def _switch(page, url: str, toggle_noun: str, noun: str, heading: str, order: list) -> None:
    """From ``url`` (the public split) to the private one by the toggle, and back."""
    page.goto(url)
    assert page.locator("h1").inner_text() == f"{heading} — public {noun}"
    assert teams(page) == order[0]
    page.get_by_role("link", name=f"Show the private {toggle_noun}").click()
    page.wait_for_url(url + "?split=private")
    assert page.locator("h1").inner_text() == f"{heading} — private {noun}"
    assert teams(page) == order[1]
    page.get_by_role("link", name=f"Show the public {toggle_noun}").click()
    page.wait_for_url(url + "?split=public")
    assert page.locator("h1").inner_text() == f"{heading} — public {noun}"
    assert teams(page) == order[0]
