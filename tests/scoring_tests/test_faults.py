"""Faults: a worker SIGKILLed mid-scoring, a pool process killed, Redis flushed.

The database is the source of truth; the broker is a doorbell (DESIGN §5). Two mechanisms
bring work back, and each test says which one did:

- ``acks_late`` + ``reject_on_worker_lost``: when a *pool process* dies, the surviving
  worker requeues its message at once, and the same delivery takes the row over.
- the sweeper (beat, every minute): when the *whole worker* dies, its unacknowledged
  message only returns after Redis's visibility timeout (well over 15 minutes, above the
  baseline hard limit), so the sweeper re-queues the row once it has been ``scoring`` for
  ``SWEEPER_STALE_AFTER_SECONDS``; here that is 1 s in the new worker's environment.
"""

from __future__ import annotations

import os
import re
import signal

import psutil
import pytest
from django.test import override_settings

from challenge_platform.celery import app
from scoring.models import Submission, SubmissionStatus
from scoring.services import submissions_sweep
from scoring.tasks import sweep_submissions
from tests.scoring_tests.conftest import queued_submission_pks, wait_for
from tests.scoring_tests.factories import (
    ChallengeFactory,
    assert_scores_equal,
    csv_bytes,
    imported_task,
    make_participant,
    predictions_frame,
    sklearn_scores,
    upload,
)

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]


@pytest.fixture
def task(tmp_path, transactional_db):
    challenge = ChallengeFactory(daily_submission_limit=50)
    return imported_task(tmp_path, kind="classification", challenge=challenge)


@pytest.fixture
def client(task):
    return make_participant(task.track.challenge).api()


def api_upload(client, task, frame) -> int:
    response = client.post(
        f"/api/v1/tasks/{task.slug}/submissions/",
        {"file": upload(csv_bytes(frame))},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def status_of(pk: int) -> Submission:
    return Submission.objects.get(pk=pk)


def scored_lines(worker, pk: int) -> int:
    """How many times a worker's log says it scored submission ``pk``."""
    return len(re.findall(rf"submission {pk} scored:", worker.log_path.read_text()))


def test_a_sigkilled_worker_s_submission_is_scored_once_by_the_next_worker(
    scoring_worker_factory, task, client, broker
):
    slow = scoring_worker_factory(env={"SCORING_TEST_DELAY_SECONDS": "60"}, concurrency=1)
    slow.wait_ready()
    frame = predictions_frame(task)
    pk = api_upload(client, task, frame)
    wait_for(
        lambda: status_of(pk).status == SubmissionStatus.SCORING,
        timeout=30,
        what="the worker to start scoring",
        worker=slow,
    )

    slow.kill()  # SIGKILL to the whole worker: no chance to requeue or acknowledge

    assert broker.hlen("unacked") == 1, "the message waits for Redis's visibility timeout"
    assert status_of(pk).status == SubmissionStatus.SCORING
    fresh = scoring_worker_factory(env={"SWEEPER_STALE_AFTER_SECONDS": "1"})
    fresh.wait_ready()
    sweep_submissions.delay()  # what beat sends every minute

    wait_for(
        lambda: status_of(pk).status == SubmissionStatus.SCORED,
        timeout=60,
        what="the sweeper's re-queue to be scored",
        worker=fresh,
    )
    submission = status_of(pk)
    assert submission.attempts == 2  # the killed attempt and the one that finished
    assert_scores_equal(submission.scores, sklearn_scores(task, frame))

    # Much later the visibility timeout returns the killed worker's message: it is a no-op.
    with app.connection_for_write() as connection:
        connection.transport_options["visibility_timeout"] = 0
        connection.default_channel.qos.restore_visible()
    wait_for(
        lambda: "is already scored" in fresh.log_path.read_text(),
        timeout=30,
        what="the returned message to be seen",
        worker=fresh,
    )
    assert status_of(pk).attempts == 2
    assert (scored_lines(slow, pk), scored_lines(fresh, pk)) == (0, 1)


def test_a_killed_pool_process_s_message_is_requeued_and_scored_once(
    scoring_worker_factory, task, client
):
    worker = scoring_worker_factory(env={"SCORING_TEST_DELAY_SECONDS": "2"}, concurrency=1)
    worker.wait_ready()
    frame = predictions_frame(task, seed=5)
    pk = api_upload(client, task, frame)
    wait_for(
        lambda: status_of(pk).status == SubmissionStatus.SCORING,
        timeout=30,
        what="the worker to start scoring",
        worker=worker,
    )

    children = psutil.Process(worker.process.pid).children()
    assert len(children) == 1
    os.kill(children[0].pid, signal.SIGKILL)

    wait_for(
        lambda: status_of(pk).status == SubmissionStatus.SCORED,
        timeout=60,
        what="the requeued message to be scored",
        worker=worker,
    )
    submission = status_of(pk)
    assert submission.attempts == 2
    assert_scores_equal(submission.scores, sklearn_scores(task, frame))
    assert scored_lines(worker, pk) == 1
    log = worker.log_path.read_text()
    assert "WorkerLostError" in log  # requeued by reject_on_worker_lost, not by the sweeper
    assert "sweeper" not in log


def test_submissions_survive_a_flushed_redis(scoring_worker_factory, task, client, broker):
    frames = [predictions_frame(task, seed=seed) for seed in range(3)]
    pks = [api_upload(client, task, frame) for frame in frames]
    assert queued_submission_pks(broker) == sorted(pks)

    broker.flushall()  # every message lost while no worker runs
    assert queued_submission_pks(broker) == []
    with override_settings(SWEEPER_STALE_AFTER_SECONDS=0):
        report = submissions_sweep()
    assert sorted(report.requeued) == sorted(pks)
    assert queued_submission_pks(broker) == sorted(pks)

    worker = scoring_worker_factory()
    worker.wait_ready()
    for pk, frame in zip(pks, frames, strict=True):
        wait_for(
            lambda pk=pk: status_of(pk).status == SubmissionStatus.SCORED,
            timeout=60,
            what=f"submission {pk} to be scored",
            worker=worker,
        )
        assert status_of(pk).attempts == 1
        assert_scores_equal(status_of(pk).scores, sklearn_scores(task, frame))
