"""Faults: a worker SIGKILLed mid-scoring, a pool process killed, Redis flushed.

The database is the source of truth; the broker is a doorbell (docs/architecture.md §5).
Three mechanisms bring work back, and each test says which one did:

- ``acks_late`` + ``reject_on_worker_lost``: when a *pool process* dies, the surviving
  worker requeues its message at once, and the same delivery takes the row over.
- worker liveness (``jobs/liveness.py``): when the *whole worker* dies, its
  unacknowledged message only returns after Redis's visibility timeout (well over 15
  minutes, above the baseline hard limit); instead another worker sees that it stopped
  beating (``WORKER_LOST_AFTER_SECONDS``) and re-queues what it held, recording why on the
  submission's claim. A worker restarted under the same name takes its earlier boot's jobs
  back at start.
- the sweeper (beat, every minute), the last resort: it re-queues a row ``scoring`` for
  ``SWEEPER_STALE_AFTER_SECONDS``; in its test that is 1 s and liveness judges after 600 s.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import time

import psutil
import pytest
from django.test import override_settings

from jobs import lifecycle
from jobs.celery import app
from jobs.models import JobClaim
from jobs.republish import jobs_republish
from scoring.models import Submission, SubmissionStatus
from scoring.services.lifecycle import SCORING
from scoring.tasks import sweep_submissions
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
from tests.support.broker import queued_submission_pks
from tests.support.waiting import scored_lines, wait_for, wait_logged, wait_scored_line

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


def lost_claim(pk: int) -> JobClaim:
    """The claim a worker lost on submission ``pk`` (its holder and why it was taken)."""
    return JobClaim.objects.get(job_type=SCORING.key, object_id=pk, lost_at__isnull=False)


# Liveness judged within seconds, so the tests do not wait out the defaults (2 s, 12 s).
FAST_LIVENESS = {"WORKER_BEAT_SECONDS": "0.5", "WORKER_LOST_AFTER_SECONDS": "3"}
# A worker that holds its submission in "scoring" (for two minutes) until a test kills it.
HOLDS_IT = {**FAST_LIVENESS, "SCORING_TEST_DELAY_SECONDS": "120"}


def start_scoring(scoring_worker_factory, task, client, **worker) -> tuple[object, int]:
    """A worker that holds a new submission in ``scoring`` (its scoring waits first)."""
    holder = scoring_worker_factory(concurrency=1, **worker)
    holder.wait_ready()
    pk = api_upload(client, task, predictions_frame(task, seed=11))
    wait_for(
        lambda: status_of(pk).status == SubmissionStatus.SCORING,
        timeout=30,
        what="the worker to start scoring",
        worker=holder,
    )
    return holder, pk


def test_a_killed_worker_s_submission_is_taken_back_as_soon_as_it_stops_beating(
    scoring_worker_factory, task, client
):
    # The default stale time (390 s) and no beat process: only liveness can bring it back.
    slow, pk = start_scoring(scoring_worker_factory, task, client, env=HOLDS_IT)
    claim = JobClaim.objects.get(job_type=SCORING.key, object_id=pk)
    assert claim.holder.startswith(f"{slow.nodename}#") and claim.lost_at is None
    watcher = scoring_worker_factory(env=FAST_LIVENESS)
    watcher.wait_ready()

    slow.kill()

    wait_for(
        lambda: status_of(pk).status == SubmissionStatus.SCORED,
        timeout=60,
        what="the watcher to take the submission back and score it",
        log=[watcher],
    )
    lost = lost_claim(pk)
    assert lost.holder == claim.holder
    assert lost.lost_reason.startswith(f"its worker {claim.holder} stopped beating")
    assert status_of(pk).attempts == 2
    wait_scored_line(watcher, pk)
    assert (scored_lines(slow, pk), scored_lines(watcher, pk)) == (0, 1)
    wait_logged(watcher, re.escape(f"worker {claim.holder} seen dead"), what="the take-back")


def test_a_killed_worker_s_submission_is_scored_before_the_backlog_queued_behind_it(
    scoring_worker_factory, task, client
):
    # The killed worker held one submission; four more were uploaded behind it. The watcher
    # (one process, each scoring held 5 s) starts on the backlog, sees the killed worker stop
    # beating while it scores, and takes the submission back ahead of the queue: its next
    # claim is that submission, not the rest of the backlog. (Late acknowledgement with a
    # prefetch of one: a busy worker reserves nothing more, so the priority is not hidden.)
    slow, first = start_scoring(scoring_worker_factory, task, client, env=HOLDS_IT)
    backlog = [api_upload(client, task, predictions_frame(task, seed=20 + i)) for i in range(4)]
    slow.kill()
    watcher = scoring_worker_factory(
        concurrency=1, env={**FAST_LIVENESS, "SCORING_TEST_DELAY_SECONDS": "5"}
    )
    watcher.wait_ready()

    for pk in [first, *backlog]:
        wait_for(
            lambda pk=pk: status_of(pk).status == SubmissionStatus.SCORED,
            timeout=120,
            what=f"submission {pk} to be scored",
            log=[watcher],
        )
    lost = lost_claim(first)
    assert lost.lost_reason.startswith(f"its worker {lost.holder} stopped beating")
    claimed = {pk: status_of(pk).started_at for pk in [first, *backlog]}
    before = [pk for pk in backlog if claimed[pk] < lost.lost_at]
    after = [pk for pk in backlog if claimed[pk] > lost.lost_at]
    assert after, "the watcher still had uploads queued when it took the submission back"
    assert sorted(claimed, key=claimed.__getitem__) == [*before, first, *after]
    assert status_of(first).attempts == 2
    assert {status_of(pk).attempts for pk in backlog} == {1}


def test_a_worker_busy_in_a_long_scoring_is_not_taken_for_dead(
    scoring_worker_factory, task, client
):
    # Its pool process computes for four times the lost-after time; its main process beats.
    busy, pk = start_scoring(
        scoring_worker_factory,
        task,
        client,
        env={
            **FAST_LIVENESS,
            "SCORING_TEST_DELAY_SECONDS": "12",
            "SCORING_TEST_DELAY_BUSY": "1",
        },
    )
    watcher = scoring_worker_factory(env=FAST_LIVENESS)
    watcher.wait_ready()

    wait_for(
        lambda: status_of(pk).status == SubmissionStatus.SCORED,
        timeout=90,
        what="the busy worker to finish",
        log=[busy, watcher],
    )
    assert status_of(pk).attempts == 1
    # Released when it finished (the submission's claim: a champion check of the same
    # number, which the scoring queued, is another job).
    assert not JobClaim.objects.filter(job_type=SCORING.key, object_id=pk).exists()
    wait_scored_line(busy, pk)
    assert (scored_lines(busy, pk), scored_lines(watcher, pk)) == (1, 0)
    assert "seen dead" not in watcher.log_path.read_text()


def test_a_restarted_worker_takes_back_its_earlier_boot_s_jobs_at_start(
    scoring_worker_factory, task, client
):
    # Liveness would wait ten minutes and the sweeper six and a half: only the start-up
    # rule (same node name, another boot) can bring the submission back within a minute.
    name = f"restarting-{time.monotonic_ns()}@{socket.gethostname()}"
    patient = {"WORKER_LOST_AFTER_SECONDS": "600"}
    first, pk = start_scoring(
        scoring_worker_factory,
        task,
        client,
        env={**patient, "SCORING_TEST_DELAY_SECONDS": "120"},
        nodename=name,
    )
    first.kill()
    again = scoring_worker_factory(env=patient, nodename=name)
    again.wait_ready()

    wait_for(
        lambda: status_of(pk).status == SubmissionStatus.SCORED,
        timeout=60,
        what="the restarted worker to score it",
        log=[again],
    )
    lost = lost_claim(pk)
    assert lost.holder.startswith(f"{name}#")
    assert lost.lost_reason.startswith(f"its worker {name} restarted ({lost.holder} -> {name}#")
    assert status_of(pk).attempts == 2
    wait_scored_line(again, pk)
    assert scored_lines(again, pk) == 1


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
    fresh = scoring_worker_factory(
        env={"SWEEPER_STALE_AFTER_SECONDS": "1", "WORKER_LOST_AFTER_SECONDS": "600"}
    )
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
    assert lost_claim(pk).lost_reason == lifecycle.STALE

    # Much later the visibility timeout returns the killed worker's message: it is a no-op.
    with app.connection_for_write() as connection:
        connection.transport_options["visibility_timeout"] = 0
        connection.default_channel.qos.restore_visible()
    wait_logged(fresh, "is already scored", what="the returned message to be seen")
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
    assert wait_scored_line(worker, pk) == 1
    log = worker.log_path.read_text()
    assert "WorkerLostError" in log  # requeued by reject_on_worker_lost, not by the sweeper
    assert "sweeper" not in log


def test_submissions_survive_a_flushed_redis(scoring_worker_factory, task, client, broker):
    frames = [predictions_frame(task, seed=seed) for seed in range(3)]
    pks = [api_upload(client, task, frame) for frame in frames]
    assert queued_submission_pks(broker) == sorted(pks)

    broker.flushall()  # every message lost while no worker runs
    assert queued_submission_pks(broker) == []
    # The republish finds the queued rows with no message (queued longer than half the
    # bound: here the bound is 0) and sends each one again.
    with override_settings(JOB_REPUBLISH_SECONDS=0):
        published = jobs_republish()
    assert sorted(published[SCORING.task_name]) == sorted(pks)
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
