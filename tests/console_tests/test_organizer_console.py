"""Organizer console: reveal, hide/disqualify a team, the health panel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from challenges.models import WorkerHeartbeat
from leaderboard.models import LeaderboardEntry
from leaderboard.refresh import task_leaderboard_refresh
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory
from tests.leaderboard_tests.factories import make_task, make_team, scored

pytestmark = pytest.mark.django_db


def test_reveal_action_shows_private_board_to_anonymous(organizer_client):
    challenge = ChallengeFactory(slug="c")
    task = make_task(TrackFactory(challenge=challenge), slug="t")
    scored(task, make_team(challenge, "ann"), 0.9, 0.7)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    assert APIClient().get("/api/v1/tasks/t/leaderboard/?split=private").status_code == 403
    response = organizer_client.post(
        "/admin/challenges/challenge/",
        {"action": "reveal_private", "_selected_action": [challenge.pk]},
        follow=True,
    )
    assert "revealed" in response.content.decode()
    body = APIClient().get("/api/v1/tasks/t/leaderboard/?split=private").json()
    assert body["entries"][0]["score"] == 0.7


def test_hiding_a_team_removes_it_from_boards_but_keeps_records(organizer_client):
    challenge = ChallengeFactory()
    task = make_task(TrackFactory(challenge=challenge), slug="t")
    cheat, honest = make_team(challenge, "cheat"), make_team(challenge, "honest")
    sub = scored(task, cheat, 0.99)
    scored(task, honest, 0.8)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    organizer_client.post(
        "/admin/challenges/team/",
        {"action": "hide_teams", "_selected_action": [cheat.pk], "apply": "1", "reason": "leak"},
    )
    names = list(
        LeaderboardEntry.objects.filter(task=task, split="public").values_list("team__name", "rank")
    )
    assert names == [("honest", 1)]
    sub.refresh_from_db()
    assert sub.status == "scored"  # the record stays
    organizer_client.post(
        "/admin/challenges/team/",
        {"action": "restore_teams", "_selected_action": [cheat.pk], "apply": "1"},
    )
    assert LeaderboardEntry.objects.filter(task=task, split="public").count() == 2


def test_health_panel_counts_waiting_work_and_heartbeat(organizer_client):
    challenge = ChallengeFactory()
    task = make_task(TrackFactory(challenge=challenge), slug="t")
    team = make_team(challenge, "ann")
    scored(task, team, None, status="queued")
    scored(task, team, None, status="queued")
    scored(task, team, None, status="scoring")
    page = organizer_client.get("/admin/health/").content.decode()
    assert 'id="health-queued">2<' in page and 'id="health-scoring">1<' in page
    assert "no recent heartbeat" in page
    WorkerHeartbeat.objects.create(hostname="w1", seen_at=timezone.now() - timedelta(seconds=5))
    assert "workers alive" in organizer_client.get("/admin/health/").content.decode()
    assert "Health panel" in organizer_client.get("/admin/").content.decode()


def test_console_is_for_organizers_only(client):
    participant = get_user_model().objects.create_user("p", password="x")
    client.force_login(participant)
    assert client.get("/admin/health/").status_code == 302


def test_hiding_a_submission_and_exporting_submissions(organizer_client):
    import csv
    import io

    challenge = ChallengeFactory()
    task = make_task(TrackFactory(challenge=challenge), slug="t")
    ann = make_team(challenge, "ann")
    best = scored(task, ann, 0.9)
    scored(task, ann, 0.6)
    evil = scored(task, make_team(challenge, "=cmd|x"), 0.5)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    organizer_client.post(
        "/admin/scoring/submission/",
        {"action": "hide_submissions", "_selected_action": [best.pk], "apply": "1", "reason": "x"},
    )
    scores = dict(
        LeaderboardEntry.objects.filter(task=task, split="public").values_list(
            "team__name", "score"
        )
    )
    assert scores["ann"] == 0.6
    response = organizer_client.post(
        "/admin/scoring/submission/",
        {"action": "export_csv", "_selected_action": [best.pk, evil.pk]},
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["id", "task", "team"] and len(rows) == 3
    assert rows[1][9] == "True" and rows[2][2] == "'=cmd|x"
