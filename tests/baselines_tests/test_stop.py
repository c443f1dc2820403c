"""A stop is not a failure, a crash still is (issue 50, point 6): a real Celery worker on the
``baselines`` queue, the real sandbox, and a baseline run that sleeps before fitting (a copy
of the built-in algorithm, ``tests.support.delays.slow_baseline_dir``), so each signal lands
mid-run on any machine.

- A container stop (``docker stop``: SIGTERM to the worker's main process alone, the
  container's first process through ``docker/entrypoint.sh``): the main process marks its
  claims as stopping, the run's watch reads the mark, kills the sandbox's process group and
  gives the run back to the queue with its attempt; the worker exits 0 and logs no traceback.
  (``manage.py runplatform``'s stop, SIGTERM to every process of the group, is
  ``tests/reliability_tests/test_stop_start.py``.)
- A crash (SIGKILL): nothing is marked, and the baseline, which has one attempt, is failed
  when the worker comes back, as before.
"""

from __future__ import annotations

import os
import signal
import socket

import pytest

from algorithms.models import AlgorithmRunStatus
from algorithms.services.baseline import baseline_run_queue
from tests.support.baseline_runs import process_gone, run_state, runner_processes
from tests.support.broker import queue_length
from tests.support.delays import slow_baseline_dir
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]


def running_baseline(worker_factory, task, nodename: str):
    """A baselines worker named ``nodename`` running a baseline of ``task`` in its sandbox
    (the runner's own log has its first line); the worker, the run and the sandbox's
    processes."""
    worker = worker_factory(queues="baselines", concurrency=1, nodename=nodename)
    worker.wait_ready()
    run = baseline_run_queue(task=task, time_limit=120)
    procs = wait_for(
        lambda: runner_processes(worker.process.pid),
        timeout=60,
        what="the runner process",
        worker=worker,
    )
    wait_for(lambda: run_state(run.pk).log_tail, timeout=60, what="a log tail", worker=worker)
    return worker, run, procs


def test_a_container_stop_gives_the_run_back_with_its_attempt_and_logs_no_traceback(
    settings, transactional_db, baseline_broker, classification_task, worker_factory
):
    settings.BASELINE_ALGORITHM_DIR = slow_baseline_dir(120)
    worker, run, procs = running_baseline(
        worker_factory, classification_task, f"baselines@{socket.gethostname()}"
    )
    os.kill(worker.process.pid, signal.SIGTERM)  # the main process alone, as docker stop
    assert worker.process.wait(timeout=60) == 0
    log = worker.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "WorkerLostError" not in log, log[-6000:]
    assert "given back to the queue: its worker is stopping" in log
    state = run_state(run.pk)
    assert state.status == AlgorithmRunStatus.QUEUED, state.error
    assert (state.attempts, state.error, state.claim_token) == (0, "", "")
    assert state.log_tail.startswith("Interrupted by the platform's stop after ")
    assert all(process_gone(proc.pid) for proc in procs)  # the sandbox's whole group
    assert queue_length(baseline_broker, "baselines") == 1  # its doorbell, for the next start


def test_a_crash_still_fails_a_baseline_once_its_worker_is_back(
    settings, transactional_db, baseline_broker, classification_task, worker_factory
):
    settings.BASELINE_ALGORITHM_DIR = slow_baseline_dir(120)
    node = f"baselines@{socket.gethostname()}"
    worker, run, _ = running_baseline(worker_factory, classification_task, node)
    worker.kill()  # SIGKILL to every process of the worker: a crash, not a stop
    back = worker_factory(queues="baselines", concurrency=1, nodename=node)  # restarted
    back.wait_ready()
    state = wait_for(
        lambda: (r := run_state(run.pk)).status == AlgorithmRunStatus.FAILED and r,
        timeout=60,
        what="the crashed run to be failed",
        worker=back,
    )
    assert "stopped unexpectedly" in state.error and "not retried automatically" in state.error


# --- in-process: the lifecycle's side of a stop ---------------------------------------------


def held_baseline(task, *, holder: str, stopping: bool):
    """A baseline run running under a claim of ``holder`` (its one attempt used), the claim
    marked as stopping or not."""
    from django.utils import timezone

    from algorithms.services.profiles import BASELINE
    from jobs.holders import claims_stopping
    from jobs.models import JobClaim
    from tests.support.baseline_runs import make_run

    now = timezone.now()
    run = make_run(
        task, status=AlgorithmRunStatus.RUNNING, claim_token="delivery-1", attempts=1,
        started_at=now, status_changed_at=now, heartbeat_at=now,
    )  # fmt: skip
    JobClaim.objects.create(
        job_type=BASELINE.job_type.key, object_id=run.pk, token="delivery-1", holder=holder,
        claimed_at=now,
    )  # fmt: skip
    if stopping:
        assert claims_stopping(holder=holder, now=now) == 1
    return run


@pytest.mark.parametrize("stopping", [True, False], ids=["stopping", "crashed"])
def test_what_a_gone_worker_held_gets_its_attempt_back_only_if_it_was_stopping(
    stopping, db, classification_task, django_capture_on_commit_callbacks
):
    from jobs.models import JobClaim
    from jobs.sweeps import jobs_sweep_lost

    holder = "baselines@host#1"
    run = held_baseline(classification_task, holder=holder, stopping=stopping)
    with django_capture_on_commit_callbacks():  # its doorbell: no broker needed here
        report = jobs_sweep_lost(holder=holder, reason=f"its worker {holder} shut down")
    state = run_state(run.pk)
    claim = JobClaim.objects.get(object_id=run.pk)
    if stopping:
        assert report.requeued == [run.pk] and state.status == AlgorithmRunStatus.QUEUED
        assert state.attempts == 0 and "its worker was stopping" in claim.lost_reason
    else:  # a crash: today's rule for a baseline (one attempt)
        assert report.failed == [run.pk] and state.status == AlgorithmRunStatus.FAILED
        assert "not retried automatically" in state.error


def test_a_redelivered_message_of_a_stopping_worker_starts_the_run_again(db, classification_task):
    """The stopped worker was killed before it acknowledged its message; the broker delivers
    it again: the run starts again on its attempt, not failed as a lost worker's."""
    from algorithms.services.dispatch import run_claim_next
    from algorithms.services.profiles import BASELINE_RUNS

    run = held_baseline(classification_task, holder="baselines@host#1", stopping=True)
    again = run_claim_next(served=BASELINE_RUNS, token="delivery-1", delivery_id="delivery-1")
    assert again is not None and again.pk == run.pk
    assert (again.status, again.attempts) == (AlgorithmRunStatus.RUNNING, 1)
