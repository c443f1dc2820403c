"""Teams: create, join by code, size limit, one team per user per challenge, leave."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from challenges.models import TeamMembership
from challenges.services import TeamError, team_create, team_member_add, team_member_remove

from .factories import ChallengeFactory, TeamFactory, UserFactory, add_member

pytestmark = pytest.mark.django_db


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_create_team_via_api_returns_invite_code_and_member():
    challenge = ChallengeFactory(slug="c1")
    alice = UserFactory(username="alice")
    response = api_as(alice).post("/api/v1/challenges/c1/teams/", {"name": "Owls"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Owls" and body["members"] == ["alice"] and body["invite_code"]
    assert body["challenge"] == challenge.slug


def test_join_via_api_with_code_and_refusals_in_plain_words():
    challenge = ChallengeFactory(slug="c1", max_team_size=2)
    alice, bob, carol = (UserFactory(username=n) for n in ("alice", "bob", "carol"))
    team = team_create(challenge=challenge, user=alice, name="Owls")
    ok = api_as(bob).post("/api/v1/teams/join/", {"code": team.invite_code}, format="json")
    assert ok.status_code == 200 and sorted(ok.json()["members"]) == ["alice", "bob"]
    full = api_as(carol).post("/api/v1/teams/join/", {"code": team.invite_code}, format="json")
    assert full.status_code == 409 and "full" in full.json()["detail"]
    bad = api_as(carol).post("/api/v1/teams/join/", {"code": "nope"}, format="json")
    assert bad.status_code == 404 and "invite code" in bad.json()["detail"]
    anon = APIClient().post("/api/v1/teams/join/", {"code": team.invite_code}, format="json")
    assert anon.status_code == 401


def test_one_team_per_user_per_challenge_in_service_and_database():
    challenge = ChallengeFactory()
    alice = UserFactory()
    team_create(challenge=challenge, user=alice, name="A")
    with pytest.raises(TeamError, match="already in team"):
        team_create(challenge=challenge, user=alice, name="B")
    other = TeamFactory(challenge=challenge)
    with pytest.raises(IntegrityError), transaction.atomic():
        add_member(other, alice)
    # A different challenge is fine.
    team_create(challenge=ChallengeFactory(), user=alice, name="A")


def test_leave_before_deadline_only_and_empty_team_disappears():
    challenge = ChallengeFactory()
    alice = UserFactory()
    team = team_create(challenge=challenge, user=alice, name="Solo")
    team_member_remove(user=alice, team=team)
    assert not TeamMembership.objects.filter(user=alice).exists()
    assert not type(team).objects.filter(pk=team.pk).exists()

    ended = ChallengeFactory(
        start=timezone.now() - timedelta(days=10), end=timezone.now() - timedelta(days=1)
    )
    late = TeamFactory(challenge=ended)
    add_member(late, alice)
    with pytest.raises(TeamError, match="ended"):
        team_member_remove(user=alice, team=late)
    with pytest.raises(TeamError, match="ended"):
        team_member_add(user=UserFactory(), code=late.invite_code)


def test_token_endpoint_exchanges_password_for_token():
    UserFactory(username="dora")
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "dora", "password": "pw-for-tests"}, format="json"
    )
    assert response.status_code == 200 and len(response.json()["token"]) == 40
    wrong = APIClient().post(
        "/api/v1/auth/token/", {"username": "dora", "password": "x"}, format="json"
    )
    assert wrong.status_code == 400


def test_web_team_flow_create_invite_join(client):
    challenge = ChallengeFactory(slug="web")
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    client.force_login(alice)
    response = client.post("/c/web/teams/new/", {"name": "Herons"}, follow=True)
    assert "Herons" in response.content.decode()
    team = challenge.teams.get()
    page = client.get(f"/teams/{team.pk}/").content.decode()
    assert team.invite_code in page
    client.force_login(bob)
    joined = client.post("/join/", {"code": team.invite_code}, follow=True)
    assert joined.status_code == 200 and "You joined" in joined.content.decode()
    assert team.members.count() == 2
    # A non-member sees the members but not the invite code.
    client.force_login(UserFactory(username="eve"))
    assert team.invite_code not in client.get(f"/teams/{team.pk}/").content.decode()


def test_an_invite_code_never_reads_as_a_command_line_option():
    """`chal teams join <code>` once failed with "the following arguments are required: code"
    for a code starting with "-" (one in 32 of the old codes)."""
    from challenges.models import new_invite_code

    codes = {new_invite_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(code) == 12 and code.isascii() and code.isalnum() for code in codes)
