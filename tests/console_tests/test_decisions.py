"""Participants see the organizers' decisions about them: the reason of a hide reaches the
submission page, the team page, the API and the team's inbox (a real SMTP server; the mail
jobs are read from a real Redis broker and run as the worker would)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from leaderboard.refresh import task_leaderboard_refresh
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory, add_member
from tests.leaderboard_tests.factories import make_task, make_team, scored
from tests.support.mails import deliver_taken

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(smtp_settings, broker):
    organizer = get_user_model().objects.create_user(
        "org", password="x", is_staff=True, is_superuser=True
    )
    member = get_user_model().objects.create_user("ann", password="x", email="ann@example.org")
    challenge = ChallengeFactory(slug="c")
    task = make_task(TrackFactory(challenge=challenge), slug="t")
    team = make_team(challenge, "owls")
    add_member(team, member)
    submission = scored(task, team, 0.9)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    broker.take()  # the "new member" mail
    return organizer, member, team, submission


def _deliver(broker) -> int:
    return deliver_taken(broker.take())


def _as(client, user):
    client.force_login(user)
    return client


def test_a_hidden_submission_shows_the_reason_on_its_page_api_and_mail(
    client, world, broker, smtp_settings
):
    organizer, member, _team, submission = world
    api = APIClient()
    api.force_authenticate(member)
    before = api.get(f"/api/v1/submissions/{submission.pk}/").json()
    assert before["decision"] is None and before["is_hidden"] is False
    assert before["status"] == "scored" and before["id"] == submission.pk  # shape kept
    _as(client, organizer).post(
        "/admin/scoring/submission/",
        {
            "action": "hide_submissions",
            "_selected_action": [submission.pk],
            "apply": "1",
            "reason": "Predictions copied from team hawks <b>",
        },
    )
    page = _as(client, member).get(f"/submissions/{submission.pk}/").content.decode()
    assert 'id="organizer-decision"' in page
    assert "Predictions copied from team hawks &lt;b&gt;" in page  # escaped
    body = api.get(f"/api/v1/submissions/{submission.pk}/").json()
    assert body["is_hidden"] is True
    assert body["decision"]["reason"] == "Predictions copied from team hawks <b>"
    assert body["decision"]["scope"] == "submission" and body["decision"]["action"] == "hidden"
    assert _deliver(broker) == 1
    (mail,) = smtp_settings.messages
    assert mail["To"] == "ann@example.org" and "hidden" in mail["Subject"]
    assert "Predictions copied from team hawks" in mail.get_body().get_content()


def test_a_hidden_team_shows_the_reason_on_its_page_and_its_submissions(
    client, world, broker, smtp_settings
):
    organizer, member, team, submission = world
    _as(client, organizer).post(
        "/admin/challenges/team/",
        {
            "action": "hide_teams",
            "_selected_action": [team.pk],
            "apply": "1",
            "reason": "Two accounts of one person",
        },
    )
    page = _as(client, member).get(f"/teams/{team.pk}/").content.decode()
    assert 'id="organizer-decision"' in page and "Two accounts of one person" in page
    outsider = get_user_model().objects.create_user("bob", password="x")
    assert _as(client, outsider).get(f"/teams/{team.pk}/").status_code == 404
    api = APIClient()
    api.force_authenticate(member)
    decision = api.get(f"/api/v1/submissions/{submission.pk}/").json()["decision"]
    assert decision["scope"] == "team" and decision["reason"] == "Two accounts of one person"
    assert _deliver(broker) == 1
    assert "Two accounts of one person" in smtp_settings.messages[0].get_body().get_content()
    # Restored: the notice goes away, and the team is told.
    _as(client, organizer).post(
        "/admin/challenges/team/",
        {"action": "restore_teams", "_selected_action": [team.pk], "apply": "1"},
    )
    page = _as(client, member).get(f"/teams/{team.pk}/").content.decode()
    assert 'id="organizer-decision"' not in page
    assert _deliver(broker) == 1
