"""REST API: upload, list and read submissions (docs/architecture.md §7)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection
from django.test import Client, override_settings
from django.utils import timezone

from scoring.models import Submission, SubmissionStatus
from tests.scoring_tests.factories import (
    UserFactory,
    api_client_for,
    csv_bytes,
    make_participant,
    predictions_frame,
    upload,
)

pytestmark = pytest.mark.django_db

SUBMISSION_KEYS = {
    "id",
    "task",
    "team",
    "status",
    "error",
    "scores",
    "metrics",
    "note",
    "created_at",
    "row_count",
    "file_format",
    "is_final",
    "phase",
    "uploaded_by",
    "algorithm",  # null for an uploaded file (tests/algorithms_tests/test_task_folder.py)
    "is_hidden",
    "decision",
    "nfr",  # issue 13: against the task's primary reference, public rows (null until scored)
    # issue 53 (docs/organizers/ladder.md): the public score shown for it, whether it climbed, and
    # the team's shown score after it
    "shown_score",
    "climbed",
    "team_shown_score",
    "board_mode",
    "withheld",  # why exact public figures are missing (a ladder board), else null
}
SCORES = {
    "all": {"accuracy": 0.5, "macro_f1": 0.4},
    "public": {"accuracy": 0.6, "macro_f1": 0.5},
    "private": {"accuracy": 0.45, "macro_f1": 0.35},
}


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()


@pytest.fixture
def task(module_tasks):
    return module_tasks["classification"]


@pytest.fixture
def alice(task):
    return make_participant(task.track.challenge, username="alice", name="Alpha")


def post(client, task_slug: str, content: bytes, **data):
    return client.post(
        f"/api/v1/tasks/{task_slug}/submissions/",
        {"file": upload(content), **data},
        format="multipart",
    )


def scored(task, team, user, **fields) -> Submission:
    defaults = {"status": SubmissionStatus.SCORED, "scores": SCORES, "public_score": 0.6}
    return Submission.objects.create(
        task=task,
        team=team,
        uploaded_by=user,
        file="x.csv",
        status_changed_at=timezone.now(),
        **{**defaults, **fields},
    )


def test_upload_returns_201_with_the_submission(task, alice):
    response = post(alice.api(), task.slug, csv_bytes(predictions_frame(task)), note="v1")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == SUBMISSION_KEYS
    assert body["task"] == task.slug and body["team"] == "Alpha"
    assert body["status"] == "queued" and body["error"] == "" and body["scores"] == {}
    assert body["note"] == "v1" and body["uploaded_by"] == "alice" and body["algorithm"] is None
    assert body["file_format"] == "csv" and body["is_final"] is False
    assert Submission.objects.get(pk=body["id"]).team == alice.team


def test_upload_is_accepted_while_the_cache_is_unreachable(task, alice):
    """The upload rate limit counts in Redis; with Redis cut off (scripts/multihost.sh's
    broker cut) uploads were refused with a 500. The limit now lets them through."""
    with socket.socket() as probe:  # a port nothing listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    }
    with override_settings(CACHES=unreachable):
        response = post(alice.api(), task.slug, csv_bytes(predictions_frame(task)))
        web = Client()
        web.force_login(alice.user)
        page = web.post(
            f"/tasks/{task.slug}/submit/", {"file": upload(csv_bytes(predictions_frame(task)))}
        )

    assert response.status_code == 201, response.content
    assert page.status_code == 302
    assert Submission.objects.filter(team=alice.team).count() == 2


def test_upload_while_the_database_is_unreachable_is_a_503_to_retry(task, alice):
    """A PostgreSQL restart (scripts/multihost.sh) answered uploads with a 500; it is a
    temporary condition: 503 with Retry-After, and nothing submitted."""
    api = alice.api()
    content = csv_bytes(predictions_frame(task))

    def restarting(execute, sql, params, many, context):
        raise OperationalError("connection failed: FATAL: the database system is shutting down")

    with connection.execute_wrapper(restarting):
        response = post(api, task.slug, content)

    assert response.status_code == 503, response.content
    assert response.json()["code"] == "database_unavailable"
    assert int(response["Retry-After"]) > 0
    assert not Submission.objects.filter(team=alice.team).exists()
    assert post(api, task.slug, content).status_code == 201  # and once it is back


@pytest.mark.parametrize(
    ("who", "slug", "content", "status", "code"),
    [
        ("alice", "no-such-task", b"id,label\n", 404, "not_found"),
        ("loner", None, b"id,label\n", 403, "no_team"),
        ("alice", None, b"label\nbird\n", 400, "no_header"),
        ("alice", None, b"\x89PNG\r\n\x1a\n\x00\x00\xff", 400, "bad_format"),
        ("alice", None, b"", 400, "empty"),
    ],
)
def test_refusals_get_their_status_and_a_plain_json_body(
    task, alice, who, slug, content, status, code
):
    user = alice.user if who == "alice" else UserFactory()
    response = post(api_client_for(user), slug or task.slug, content)

    assert response.status_code == status
    body = response.json()
    assert set(body) == {"detail", "code", "retry_after"}
    assert body["code"] == code and body["retry_after"] is None
    assert body["detail"] and "Traceback" not in body["detail"]


def test_a_request_without_a_file_is_a_400(task, alice):
    response = alice.api().post(
        f"/api/v1/tasks/{task.slug}/submissions/", {"note": "no file"}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "file" in response.json()["detail"]


def test_anonymous_uploads_are_refused(task):
    response = post(api_client_for(None), task.slug, b"id,label\n")
    assert response.status_code in (401, 403)
    assert not Submission.objects.exists()


def test_too_large_is_413_even_before_the_body_is_parsed(task, alice, settings):
    settings.SUBMISSION_MAX_BYTES = 1000
    content = b"id,label\n" + b"t0000,bird\n" * 100_000
    response = post(alice.api(), task.slug, content)
    assert response.status_code == 413 and response.json()["code"] == "too_large"

    settings.SUBMISSION_MAX_BYTES = len(content) - 1  # within the multipart slack
    response = post(alice.api(), task.slug, content)
    assert response.status_code == 413 and response.json()["code"] == "too_large"


def test_the_daily_limit_answers_429_with_retry_after(task, alice):
    task.track.challenge.daily_submission_limit = 1
    task.track.challenge.save()
    content = csv_bytes(predictions_frame(task))
    assert post(alice.api(), task.slug, content).status_code == 201

    response = post(alice.api(), task.slug, content)

    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "daily_limit"
    reset = datetime.fromisoformat(body["retry_after"])
    now = timezone.now()
    assert reset == datetime.combine(
        (now.astimezone(UTC) + timedelta(days=1)).date(), datetime.min.time(), tzinfo=UTC
    )
    seconds = int(response["Retry-After"])
    assert abs(seconds - (reset - now).total_seconds()) <= 2


def test_the_list_shows_the_callers_teams_submissions_newest_first(module_tasks, alice):
    task, other_task = module_tasks["classification"], module_tasks["matching"]
    bob = make_participant(task.track.challenge, username="bob")
    first = scored(task, alice.team, alice.user)
    second = scored(other_task, alice.team, alice.user)
    scored(task, bob.team, bob.user)

    response = alice.api().get("/api/v1/submissions/")
    assert response.status_code == 200
    assert [s["id"] for s in response.json()["results"]] == [second.pk, first.pk]

    response = alice.api().get(f"/api/v1/submissions/?task={task.slug}")
    assert [s["id"] for s in response.json()["results"]] == [first.pk]


def test_organizers_see_every_submission(task, alice):
    bob = make_participant(task.track.challenge, username="bob")
    mine, theirs = scored(task, alice.team, alice.user), scored(task, bob.team, bob.user)
    organizer = UserFactory(username="org", is_staff=True)

    response = api_client_for(organizer).get("/api/v1/submissions/")
    assert {s["id"] for s in response.json()["results"]} == {mine.pk, theirs.pk}
    assert api_client_for(organizer).get(f"/api/v1/submissions/{theirs.pk}/").status_code == 200


def test_another_teams_submission_is_a_404_like_a_missing_one(task, alice):
    bob = make_participant(task.track.challenge, username="bob")
    theirs = scored(task, bob.team, bob.user)

    assert alice.api().get(f"/api/v1/submissions/{theirs.pk}/").status_code == 404
    assert alice.api().get("/api/v1/submissions/999999/").status_code == 404
    assert bob.api().get(f"/api/v1/submissions/{theirs.pk}/").status_code == 200
    assert api_client_for(None).get(f"/api/v1/submissions/{theirs.pk}/").status_code in (401, 403)


def test_private_scores_appear_only_once_revealed_or_for_organizers(task, alice):
    submission = scored(task, alice.team, alice.user)
    url = f"/api/v1/submissions/{submission.pk}/"
    organizer = api_client_for(UserFactory(username="org", is_staff=True))

    assert alice.api().get(url).json()["scores"] == {"public": SCORES["public"]}
    assert organizer.get(url).json()["scores"] == SCORES
    listed = alice.api().get("/api/v1/submissions/").json()["results"][0]
    assert set(listed["scores"]) == {"public"}

    challenge = task.track.challenge
    challenge.reveal_at = timezone.now() - timedelta(minutes=1)
    challenge.save()
    assert alice.api().get(url).json()["scores"] == SCORES


def test_files_and_predictions_are_never_exposed(task, alice):
    submission = scored(task, alice.team, alice.user, predictions="p.npz")
    organizer = api_client_for(UserFactory(username="org", is_staff=True))
    for client in (alice.api(), organizer):
        body = client.get(f"/api/v1/submissions/{submission.pk}/").json()
        assert "file" not in body and "predictions" not in body
        assert "x.csv" not in str(body) and "p.npz" not in str(body)


def test_a_failed_submission_shows_its_message(task, alice):
    submission = scored(
        task, alice.team, alice.user, status=SubmissionStatus.FAILED, scores={}, error="Bad ids."
    )
    body = alice.api().get(f"/api/v1/submissions/{submission.pk}/").json()
    assert (body["status"], body["error"], body["scores"]) == ("failed", "Bad ids.", {})


def test_the_openapi_schema_documents_the_submission_endpoints():
    response = api_client_for(None).get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    create = paths["/api/v1/tasks/{slug}/submissions/"]["post"]
    assert "multipart/form-data" in create["requestBody"]["content"]
    assert {"201", "400", "403", "404", "413", "429"} <= set(create["responses"])
    assert "/api/v1/submissions/" in paths and "/api/v1/submissions/{id}/" in paths
    assert set(schema["components"]["schemas"]["Submission"]["properties"]) == SUBMISSION_KEYS


def test_no_malformed_file_makes_the_api_fail(module_tasks, alice):
    """Every corpus file gets a 201 (the worker refuses it later), never a 500."""
    from tests.scoring_tests.corpus import CORPUS

    task = module_tasks["classification"]
    task.track.challenge.daily_submission_limit = 100
    task.track.challenge.save()
    client = alice.api()
    for case in CORPUS:
        target = module_tasks[case.kind]
        response = post(client, target.slug, case.build(predictions_frame(target)))
        assert response.status_code == 201, (case.name, response.content)
