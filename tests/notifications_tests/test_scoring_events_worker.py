"""End to end through a real worker on the scoring and notifications queues: an upload that
fails mails its team, a scored one mails only who opted in, a new #1 reaches the webhook,
and an upload after the end is scored onto the post-challenge board, outside the standings."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from challenges.models import Challenge
from notifications.models import Topic, Webhook
from notifications.services import preferences_set
from scoring.models import Submission
from standings.selectors import post_challenge_board
from standings.services import challenge_finish
from tests.scoring_tests.factories import (
    csv_bytes,
    imported_task,
    make_participant,
    predictions_frame,
)
from tests.support.celery_worker import WorkerProcess
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]


@pytest.fixture
def worker(redis_server, redis_client, transactional_db, tmp_path, smtp_server):
    redis_client.flushall()
    host, port, inbox = smtp_server
    process = WorkerProcess(
        redis_url=redis_server.url,
        log_path=tmp_path / "worker.log",
        queues="scoring,notifications",
        settings_module="tests.notifications_tests.worker_settings",
        env={"EMAIL_HOST": host, "EMAIL_PORT": str(port), "WEBHOOK_RETRY_BASE_SECONDS": "0.3"},
    ).start()
    try:
        process.wait_ready()
        yield process, inbox
    finally:
        process.stop()


def upload(participant, task, content: bytes) -> int:
    response = participant.api().post(
        f"/api/v1/tasks/{task.slug}/submissions/",
        {"file": _file(content)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _file(content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("predictions.csv", content, content_type="text/csv")


def status_of(pk: int) -> str:
    return Submission.objects.get(pk=pk).status


def test_scoring_outcomes_mail_the_team_and_a_new_leader_reaches_the_webhook(
    worker, tmp_path, webhook_receiver
):
    process, inbox = worker
    task = imported_task(tmp_path)
    challenge = task.track.challenge
    ann = make_participant(challenge, username="ann", name="Ann's")
    ann.user.email = "ann@example.org"
    ann.user.save()
    receiver = webhook_receiver("lead-secret")
    Webhook.objects.create(
        challenge=challenge, url=receiver.url, secret="lead-secret", events=["leader"]
    )

    bad = upload(ann, task, b"id,label\nnot-an-id,x\n")
    wait_for(lambda: status_of(bad) == "failed", timeout=60, what="the failure", worker=process)
    (mail,) = wait_for(
        lambda: inbox.to("ann@example.org"), timeout=60, what="the mail", worker=process
    )
    assert mail["X-Notification-Kind"] == Topic.SUBMISSION_FAILED
    assert f"Submission #{bad}" in mail["Subject"] and "failed" in mail["Subject"]

    good = upload(ann, task, csv_bytes(predictions_frame(task)))
    wait_for(lambda: status_of(good) == "scored", timeout=60, what="the score", worker=process)
    event = wait_for(
        lambda: receiver.accepted, timeout=60, what="the leader event", worker=process
    )[0]
    assert event["event"] == "leader" and event["data"]["team"] == "Ann's"
    assert all(r["signature_ok"] for r in receiver.requests)
    assert len(inbox.to("ann@example.org")) == 1  # "scored" is opt-in

    preferences_set(user=ann.user, choices={Topic.SUBMISSION_SCORED: True})
    again = upload(ann, task, csv_bytes(predictions_frame(task, seed=3)))
    wait_for(lambda: status_of(again) == "scored", timeout=60, what="the score", worker=process)
    wait_for(
        lambda: len(inbox.to("ann@example.org")) == 2,
        timeout=60,
        what="the scored mail",
        worker=process,
    )
    assert inbox.to("ann@example.org")[1]["X-Notification-Kind"] == Topic.SUBMISSION_SCORED
    assert len(receiver.accepted) == 1  # still the same #1: no second event


def test_an_upload_after_the_end_goes_to_the_post_challenge_board(worker, tmp_path):
    process, _ = worker
    task = imported_task(tmp_path)
    challenge = task.track.challenge
    bee = make_participant(challenge, username="bee", name="Bees")
    during = upload(bee, task, csv_bytes(predictions_frame(task, wrong=0.4)))
    wait_for(lambda: status_of(during) == "scored", timeout=60, what="the score", worker=process)
    Challenge.objects.filter(pk=challenge.pk).update(end=timezone.now())
    challenge.refresh_from_db()
    frozen, _ = challenge_finish(challenge=challenge)

    after = upload(bee, task, csv_bytes(predictions_frame(task, wrong=0.0)))
    wait_for(lambda: status_of(after) == "scored", timeout=60, what="the score", worker=process)
    rows = post_challenge_board(task=task)
    assert [(r.team.name, r.submission_id) for r in rows] == [("Bees", after)]
    board = json.loads(frozen.canonical)["tasks"][0]["entries"]
    assert [e["submission"] for e in board] == [during]
    assert challenge_finish(challenge=challenge)[0].sha256 == frozen.sha256
    lb = bee.api().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()["entries"]
    teams = [e for e in lb if e["reference"] is None]  # the trivial baseline is shown too
    assert [e["score"] for e in teams] == [Submission.objects.get(pk=during).public_score]
