"""Two people, two browsers: one creates a team, the other joins it with the invite code."""

from __future__ import annotations

import re

import pytest

from challenge_platform.models import Team
from tests.browser_tests.conftest import PASSWORD
from tests.platform_tests.factories import ChallengeFactory, UserFactory
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
