"""Every path that makes a team member, or records a decision, emits its event explicitly
(no model signal): the API, the web join page and the organizers' console all tell the
team. Mails are read off the broker's queue (a real Redis)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from challenges.models import TeamMembership
from challenges.services import team_create
from tests.challenges_tests.factories import ChallengeFactory, UserFactory
from tests.support.mails import mail_rows

pytestmark = pytest.mark.django_db


def team_mails(broker) -> list[tuple[int, str]]:
    return sorted(
        (mail.user_id, mail.subject) for mail in mail_rows(broker.take()) if mail.topic == "team"
    )


@pytest.fixture
def owls(broker, django_capture_on_commit_callbacks):
    challenge = ChallengeFactory(slug="c1")
    ann = UserFactory(username="ann", email="ann@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        team = team_create(challenge=challenge, user=ann, name="Owls")
    assert team_mails(broker) == []  # nobody else to tell
    return challenge, team, ann


def test_joining_through_the_api_and_the_web_page_mails_the_other_members(
    owls, broker, django_capture_on_commit_callbacks
):
    challenge, team, ann = owls
    bo, cy = UserFactory(username="bo"), UserFactory(username="cy")
    api = APIClient()
    api.force_authenticate(bo)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/teams/join/", {"code": team.invite_code}, format="json")
    assert response.status_code == 200, response.content
    assert team_mails(broker) == [(ann.pk, "bo joined Owls")]

    web = Client()
    web.force_login(cy)
    with django_capture_on_commit_callbacks(execute=True):
        web.post(f"/join/{team.invite_code}/")
    assert TeamMembership.objects.filter(team=team, user=cy).exists()
    assert team_mails(broker) == [(ann.pk, "cy joined Owls"), (bo.pk, "cy joined Owls")]


def _team_change(team, rows: list[dict], initial: int) -> dict:
    data = {
        "challenge": team.challenge_id,
        "name": team.name,
        "memberships-TOTAL_FORMS": str(len(rows)),
        "memberships-INITIAL_FORMS": str(initial),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        data.update({f"memberships-{i}-{k}": v for k, v in row.items()})
        data[f"memberships-{i}-team"] = str(team.pk)
    return data


def test_a_member_added_in_the_console_is_announced_and_a_second_team_is_refused_plainly(
    owls, broker, django_capture_on_commit_callbacks
):
    challenge, team, ann = owls
    org = Client()
    org.force_login(UserFactory(username="org", is_staff=True, is_superuser=True))
    dan = UserFactory(username="dan")
    url = f"/admin/challenges/team/{team.pk}/change/"
    ann_row = {"id": TeamMembership.objects.get(user=ann).pk, "user": ann.pk}
    with django_capture_on_commit_callbacks(execute=True):
        response = org.post(url, _team_change(team, [ann_row, {"user": dan.pk}], initial=1))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert TeamMembership.objects.filter(team=team, user=dan, challenge=challenge).exists()
    assert team_mails(broker) == [(ann.pk, "dan joined Owls")]

    # Someone already in another team of the challenge: said on the row, nothing changes.
    other = team_create(challenge=challenge, user=UserFactory(username="eve"), name="Larks")
    eve = other.memberships.get().user
    dan_row = {"id": TeamMembership.objects.get(user=dan).pk, "user": dan.pk}
    with django_capture_on_commit_callbacks(execute=True):
        refused = org.post(url, _team_change(team, [ann_row, dan_row, {"user": eve.pk}], 2))
    assert refused.status_code == 200
    assert "eve is already in team “Larks” of this challenge" in refused.content.decode()
    assert not TeamMembership.objects.filter(team=team, user=eve).exists()
    assert team_mails(broker) == []


def test_a_decision_recorded_in_the_console_mails_the_team(
    owls, broker, django_capture_on_commit_callbacks
):
    """The audit log's event (``AuditRecorded``) is what mails the team, whichever path
    recorded it; an action that is not a decision mails nobody."""
    from challenges.audit import audit_record
    from challenges.services import team_visibility_set

    challenge, team, ann = owls
    org = UserFactory(username="org2", is_staff=True, is_superuser=True)
    with django_capture_on_commit_callbacks(execute=True):
        audit_record(actor=org, action="challenge.edit", obj=challenge, after={"title": "x"})
        team_visibility_set(team=team, hidden=True, actor=org, reason="copied predictions")
    decisions = [
        (mail.user_id, mail.subject)
        for mail in mail_rows(broker.take())
        if mail.topic == "decision"
    ]
    assert decisions == [(ann.pk, "Your team Owls was hidden from the leaderboards")]
