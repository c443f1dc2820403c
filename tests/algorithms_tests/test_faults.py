"""A worker killed in the middle of a run: the sandbox dies with it, the run is re-queued
(by another worker that sees it stop beating, or by the sweeper as the last resort),
another worker completes it, and it submits exactly once."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import psutil
import pytest
from django.conf import settings
from django.utils import timezone

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from algorithms.services.runs import algorithm_runs_sweep
from jobs.models import JobClaim
from scoring.models import Submission
from testkit.archives import HONEST_MAIN, algorithm_zip
from tests.algorithms_tests.worker_helpers import start_runs, upload_algorithm, wait_run
from tests.support.processes import alive, descendants
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.host_wide, pytest.mark.celery_worker, pytest.mark.slow]

SLOW_HONEST = "import time\ntime.sleep(6)\n" + HONEST_MAIN


def sandboxes_of(worker) -> list[psutil.Process]:
    """The bwrap processes the worker started (a root worker's bwrap names no run folder:
    it binds them from a mount namespace of its own)."""
    found = []
    for process in descendants(worker.process.pid):
        with contextlib.suppress(psutil.Error):
            if process.name() == "bwrap":
                found.append(process)
    return found


def test_killed_worker_run_is_swept_and_completed_once(world, algorithms_worker_factory):
    client = world.participant.api()
    algorithm = upload_algorithm(client, world.challenge, algorithm_zip(SLOW_HONEST))
    first = algorithms_worker_factory()
    (run,) = start_runs(client, algorithm["id"], tasks=[world.classification.slug])
    sandboxes = wait_for(lambda: sandboxes_of(first), timeout=60, what="the sandbox", worker=first)
    assert AlgorithmRun.objects.get(pk=run["id"]).status == AlgorithmRunStatus.RUNNING

    first.kill()  # SIGKILL: a crash, not a shutdown
    wait_for(lambda: not alive(sandboxes), timeout=15, what="the sandbox to die")
    assert AlgorithmRun.objects.get(pk=run["id"]).status == AlgorithmRunStatus.RUNNING

    later = timezone.now() + timedelta(seconds=settings.ALGORITHM_HARD_TIME_LIMIT + 120)
    assert algorithm_runs_sweep(now=later).requeued == [run["id"]]
    second = algorithms_worker_factory()
    body = wait_run(client, run["id"], second)
    assert body["status"] == "succeeded", body
    stored = AlgorithmRun.objects.get(pk=run["id"])
    assert stored.attempts == 2
    assert Submission.objects.filter(team=world.participant.team).count() == 1


def test_a_killed_worker_s_run_is_taken_back_once_it_stops_beating(
    world, algorithms_worker_factory
):
    # No beat process and the sweeper's default times: only worker liveness can re-queue it.
    fast = {"WORKER_BEAT_SECONDS": "0.5", "WORKER_LOST_AFTER_SECONDS": "3"}
    client = world.participant.api()
    algorithm = upload_algorithm(client, world.challenge, algorithm_zip(SLOW_HONEST))
    first = algorithms_worker_factory(env=fast)
    (run,) = start_runs(client, algorithm["id"], tasks=[world.classification.slug])
    wait_for(lambda: sandboxes_of(first), timeout=60, what="the sandbox", worker=first)
    second = algorithms_worker_factory(env=fast)

    first.kill()

    body = wait_run(client, run["id"], second)
    assert body["status"] == "succeeded", body
    assert AlgorithmRun.objects.get(pk=run["id"]).attempts == 2
    lost = JobClaim.objects.get(object_id=run["id"], lost_at__isnull=False)
    assert lost.job_type == "algorithms.tasks.run_algorithm"
    assert lost.holder.startswith(f"{first.nodename}#")
    assert " stopped beating " in lost.lost_reason
    assert Submission.objects.filter(team=world.participant.team).count() == 1
