"""Two people, two browsers: one creates a team, the other joins it with the invite code."""

from __future__ import annotations

import re

import pytest

from challenges.models import Team
from tests.challenges_tests.factories import PASSWORD, ChallengeFactory, UserFactory
from tests.support.browser import login

pytestmark = [pytest.mark.browser]


def test_a_team_is_created_and_joined_with_its_invite_code(live_server, browser_page, new_page):
    challenge = ChallengeFactory(title="Spring cup")
    UserFactory(username="alice")
    UserFactory(username="bob")
    alice = browser_page
    bob = new_page()

    login(alice, live_server.url, "alice", PASSWORD)
    alice.goto(f"{live_server.url}/c/{challenge.slug}/")
    alice.fill("#team-name", "Owls")
    alice.get_by_role("button", name="Create team").click()
    alice.wait_for_url(re.compile(r"/teams/\d+/$"))
    assert "Team “Owls” created" in alice.locator(".messages").inner_text()
    invite_link = alice.locator("#invite-link").inner_text()
    code = re.fullmatch(r"https?://[^/]+/join/([^/]+)/", invite_link).group(1)
    assert code == Team.objects.get(name="Owls").invite_code

    login(bob, live_server.url, "bob", PASSWORD)
    bob.goto(f"{live_server.url}/c/{challenge.slug}/")
    assert bob.locator("#my-team").get_by_text("You are in").count() == 0
    bob.fill("#invite-code", code)
    bob.get_by_role("button", name="Join team").click()
    bob.wait_for_url(re.compile(r"/teams/\d+/$"))
    assert "You joined “Owls”." in bob.locator(".messages").inner_text()
    assert bob.locator("h1").inner_text() == "Owls"

    alice.reload()
    members = alice.locator("section.card ul li").all_inner_texts()
    assert members == ["alice", "bob"]
    bob.goto(f"{live_server.url}/c/{challenge.slug}/")
    assert "You are in Owls." in bob.locator("#my-team").inner_text()
    team = Team.objects.get(name="Owls")
    assert sorted(team.members.values_list("username", flat=True)) == ["alice", "bob"]


def test_after_the_end_no_page_offers_to_invite_join_or_leave(
    live_server, browser_page, redis_client
):
    """The challenge has ended: joining, inviting and leaving are refused, so no page offers
    them; a newcomer may still create a team (the post-challenge benchmark)."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.challenges_tests.factories import TeamFactory, add_member

    now = timezone.now()
    challenge = ChallengeFactory(
        title="Autumn cup", start=now - timedelta(days=9), end=now - timedelta(hours=1)
    )
    team = TeamFactory(challenge=challenge, name="Owls")
    add_member(team, UserFactory(username="alice"))
    UserFactory(username="carol")
    redis_client.flushall()
    page = browser_page

    login(page, live_server.url, "alice", PASSWORD)
    page.goto(f"{live_server.url}/teams/{team.pk}/")
    assert "Autumn cup has ended; teams can no longer change." in page.locator(
        "#teams-closed"
    ).inner_text()
    assert page.locator("#invite-link").count() == 0
    assert page.locator("#team-invite").count() == 0
    assert page.get_by_role("button", name="Leave team").count() == 0
    # A hand-made invitation is refused with the reason, and no mail goes out.
    csrf = page.context.cookies()
    token = next(c["value"] for c in csrf if c["name"] == "csrftoken")
    answer = page.request.post(
        f"{live_server.url}/teams/{team.pk}/invite/",
        form={"who": "carol", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{live_server.url}/teams/{team.pk}/"},
    )
    assert answer.ok and answer.url.endswith(f"/teams/{team.pk}/")  # back on the team page
    assert "Autumn cup has ended; teams can no longer change." in answer.text()
    from tests.support.broker import queued_messages

    assert queued_messages(redis_client, "notifications") == []  # no invitation mailed

    login(page, live_server.url, "carol", PASSWORD)
    page.goto(f"{live_server.url}/c/{challenge.slug}/")
    my_team = page.locator("#my-team")
    assert my_team.get_by_role("button", name="Create team").is_visible()
    assert my_team.locator("#invite-code").count() == 0
    assert my_team.get_by_role("button", name="Join team").count() == 0
    assert "can no longer be joined" in page.locator("#teams-closed").inner_text()
    page.goto(f"{live_server.url}/join/{team.invite_code}/")
    assert "teams can no longer change" in page.locator("#teams-closed").inner_text()
    assert page.get_by_role("button", name="Join team").count() == 0
    assert not team.memberships.filter(user__username="carol").exists()
