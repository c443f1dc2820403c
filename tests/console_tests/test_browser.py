"""In a real Chromium: the organizer's dashboard, and hiding a team through the action that
asks for a reason, which the team then reads on its page."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from challenges.models import AuditEvent, Team
from tests.challenges_tests.factories import (
    ChallengeFactory,
    TrackFactory,
    UserFactory,
    add_member,
)
from tests.leaderboard_tests.factories import make_task, make_team, scored
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-for-tests"  # what UserFactory sets


@pytest.fixture(autouse=True)
def _fresh(broker) -> None:
    cache.clear()  # the login throttle


def test_dashboard_and_hiding_a_team_with_a_reason(live_server, browser, browser_page):
    UserFactory(username="org", is_staff=True, is_superuser=True)
    member = UserFactory(username="ann")
    challenge = ChallengeFactory(slug="spring", title="Spring cup")
    task = make_task(TrackFactory(challenge=challenge), slug="t")
    team = make_team(challenge, "owls")
    add_member(team, member)
    scored(task, team, 0.9)
    page = browser_page

    login(page, live_server.url, "org", PASSWORD)
    page.goto(f"{live_server.url}/admin/")
    dashboard = page.locator("#console-dashboard")
    assert dashboard.locator("h3").inner_text() == "Spring cup"
    assert dashboard.locator(".dash-teams").inner_text() == "1"
    assert dashboard.locator(".dash-active").inner_text() == "1"
    assert dashboard.locator("svg[role=img]").count() == 1

    page.goto(f"{live_server.url}/admin/challenges/team/")
    page.locator(f"input[name=_selected_action][value='{team.pk}']").check()
    page.select_option("select[name=action]", "hide_teams")
    page.locator("button[name=index]").first.click()  # "Go"
    form = page.locator("#action-reason-form")
    assert "owls" in page.locator("#action-objects").inner_text()
    form.locator("#action-reason-confirm").click()  # no reason: the form is not sent
    assert page.locator("#id_reason:invalid").count() == 1  # (the server refuses it too)
    assert not Team.objects.get(pk=team.pk).is_hidden
    page.fill("#id_reason", "Two accounts of one person")
    page.locator("#action-reason-confirm").click()
    assert "removed from the leaderboards" in page.locator("ul.messagelist").inner_text()
    assert Team.objects.get(pk=team.pk).is_hidden
    event = AuditEvent.objects.get(action="team.hide", object_id=str(team.pk))
    assert event.reason == "Two accounts of one person" and event.actor_name == "org"

    other = browser.new_context()
    try:
        member_page = other.new_page()
        login(member_page, live_server.url, "ann", PASSWORD)
        member_page.goto(f"{live_server.url}/teams/{team.pk}/")
        notice = member_page.locator("#organizer-decision")
        assert "Two accounts of one person" in notice.inner_text()
    finally:
        other.close()
