"""Derived data is read-only in the organizer console and the API (issue 17).

The table below is the contract: for EVERY model registered in the console, which of add,
change and delete a superuser is offered. A model registered later fails the test until
someone decides (and writes here) what organizers may do with it.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from challenges.models import WorkerHeartbeat
from leaderboard.models import LeaderboardEntry
from leaderboard.refresh import task_leaderboard_refresh
from scoring.models import Submission
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory
from tests.leaderboard_tests.factories import make_task, make_team, scored

pytestmark = pytest.mark.django_db

# label: (add, change, delete) offered to a superuser in the console.
PERMISSIONS = {
    "auth.Group": (True, True, True),
    "auth.User": (True, True, True),
    "knox.AuthToken": (False, False, False),  # listed by prefix; revoked by its action
    "socialaccount.SocialAccount": (True, True, True),
    "account.EmailAddress": (True, True, True),
    "challenges.Challenge": (True, True, True),
    "challenges.Track": (True, True, True),
    "challenges.Phase": (True, True, False),  # a phase holds its entries
    "challenges.Team": (True, True, True),
    "challenges.RulesAcceptance": (False, False, False),
    "challenges.WorkerHeartbeat": (False, False, False),
    "jobs.JobClaim": (False, False, False),  # written by workers only
    "challenges.AuditEvent": (False, False, False),
    "datasets.Task": (True, True, True),  # "add" opens the bundle import
    "scoring.Submission": (False, False, False),  # changed only through its actions
    "algorithms.BaselineRun": (False, False, False),
    "leaderboard.LeaderboardEntry": (False, False, False),
    "leaderboard.TaskChampion": (False, False, False),  # the gate or the audited pin only
    "leaderboard.LadderStep": (False, False, False),  # the board's refresh decides them
    "leaderboard.TaskBoardMode": (False, True, False),  # a task's board mode, audited
    "algorithms.Algorithm": (True, True, True),
    "algorithms.AlgorithmRun": (False, False, False),
    "standings.FinalStandings": (False, False, False),
    "standings.MethodWriteup": (False, True, True),  # every field read-only; removable
    "notifications.Announcement": (True, True, True),
    "notifications.Webhook": (True, True, True),
    "notifications.WebhookDelivery": (False, False, False),
    "notifications.MailDelivery": (False, False, False),  # jobs: written by the lifecycle
    # Threads and posts are moderated on the site (hide, lock, pin: audited), never edited here.
    "discussion.Thread": (False, False, False),
    "discussion.Post": (False, False, False),
}


@pytest.fixture
def superuser():
    return get_user_model().objects.create_user(
        "root", password="x", is_staff=True, is_superuser=True
    )


@pytest.fixture
def organizer_client(client, superuser):
    client.force_login(superuser)
    return client


def test_every_registered_model_has_exactly_the_declared_permissions(superuser):
    request = RequestFactory().get("/admin/")
    request.user = superuser
    registered = {
        model._meta.label: model_admin for model, model_admin in admin.site._registry.items()
    }
    unknown = sorted(set(registered) - set(PERMISSIONS))
    assert not unknown, f"decide add/change/delete for {unknown} in PERMISSIONS"
    gone = sorted(label for label in PERMISSIONS if label not in registered)
    for label in gone:  # AuditEvent may be the only one declared ahead of its registration
        assert label == "challenges.AuditEvent", f"{label} is no longer registered"
    actual = {
        label: (
            model_admin.has_add_permission(request),
            model_admin.has_change_permission(request),
            model_admin.has_delete_permission(request),
        )
        for label, model_admin in registered.items()
    }
    assert actual == {label: PERMISSIONS[label] for label in registered}


@pytest.fixture
def board():
    challenge = ChallengeFactory(slug="c")
    task = make_task(TrackFactory(challenge=challenge), slug="t")
    team = make_team(challenge, "ann")
    submission = scored(task, team, 0.9, 0.7)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    return task, team, submission


def _snapshot() -> list:
    return [
        list(LeaderboardEntry.objects.order_by("pk").values()),
        list(Submission.objects.order_by("pk").values()),
        list(WorkerHeartbeat.objects.order_by("pk").values()),
    ]


def test_console_refuses_to_add_or_edit_derived_rows(organizer_client, board):
    task, team, submission = board
    WorkerHeartbeat.objects.create(hostname="w1", seen_at=timezone.now())
    entry = LeaderboardEntry.objects.get(task=task, split="public")
    heartbeat = WorkerHeartbeat.objects.get()
    before = _snapshot()
    forged_entry = {
        "task": task.pk,
        "team": team.pk,
        "split": "public",
        "submission": submission.pk,
        "score": "1.0",
        "metrics": "{}",
        "rank": "1",
        "position": "0",
        "submission_count": "1",
        "best_submitted_at_0": "2026-01-01",
        "best_submitted_at_1": "00:00:00",
        "tied_with_best": "on",
    }
    posts = [
        ("/admin/leaderboard/leaderboardentry/add/", forged_entry),
        (f"/admin/leaderboard/leaderboardentry/{entry.pk}/change/", forged_entry),
        (f"/admin/leaderboard/leaderboardentry/{entry.pk}/delete/", {"post": "yes"}),
        ("/admin/challenges/workerheartbeat/add/", {"hostname": "forged"}),
        (
            f"/admin/challenges/workerheartbeat/{heartbeat.pk}/change/",
            {"hostname": "forged", "seen_at_0": "2030-01-01", "seen_at_1": "00:00:00"},
        ),
        ("/admin/scoring/submission/add/", {"task": task.pk, "team": team.pk}),
        (
            f"/admin/scoring/submission/{submission.pk}/change/",
            {"public_score": "1.0", "status": "scored", "is_hidden": "", "note": "x"},
        ),
        (f"/admin/scoring/submission/{submission.pk}/delete/", {"post": "yes"}),
    ]
    for url, data in posts:
        response = organizer_client.post(url, data)
        assert response.status_code == 403, url
    assert _snapshot() == before
    # Looking stays possible: the change page renders, read-only (no save button).
    page = organizer_client.get(f"/admin/leaderboard/leaderboardentry/{entry.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content


def test_api_offers_no_write_on_derived_data(superuser, board):
    task, _team, submission = board
    api = APIClient()
    api.force_authenticate(superuser)
    before = _snapshot()
    urls = [
        "/api/v1/tasks/t/leaderboard/",
        f"/api/v1/tracks/{task.track.slug}/leaderboard/",
        f"/api/v1/submissions/{submission.pk}/",
        "/api/v1/challenges/c/standings/",
    ]
    for url in urls:
        for method in ("post", "put", "patch", "delete"):
            response = getattr(api, method)(url, {"score": 1.0, "status": "scored"}, format="json")
            assert response.status_code in (403, 405), (method, url, response.status_code)
    assert _snapshot() == before
