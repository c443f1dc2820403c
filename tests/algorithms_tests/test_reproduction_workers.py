"""Reproductions run on the embedded default's workers (issue 50, point 4), through a real
Redis, real Celery workers and the sandbox.

``make run`` starts one algorithms worker, one baselines worker and one scoring worker. A
reproduction repeats a run "on another worker"; the rule that said so counted every live node
that had run an algorithm run within a day, and the baselines worker (it runs the AutoGluon
baseline, an algorithm run) was one. So the algorithms worker, the only one that takes
reproductions, refused the reproduction of its own run, answered every doorbell ``skipped``,
and the beat published the doorbell again every half ``JOB_REPUBLISH_SECONDS``, forever. Now
only the nodes that consume the reproductions' queue count, and the manifest says where the
reproduction ran.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import timezone

from algorithms.models import AlgorithmRun
from algorithms.services.benchmark import benchmark_tick
from algorithms.services.manifest import SAME_WORKER
from jobs.republish import jobs_republish
from testkit.archives import algorithm_zip
from tests.algorithms_tests.worker_helpers import upload_algorithm
from tests.scoring_tests.factories import imported_task
from tests.support.baseline_runs import make_run
from tests.support.celery_worker import WorkerProcess
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]

TIMEOUT = 240


@pytest.fixture
def default_workers(redis_server, broker, transactional_db, tmp_path: Path) -> Iterator:
    """The embedded default's algorithms and baselines workers, named as the Procfile names
    them (``algorithms@%h``, ``baselines@%h``)."""
    host = socket.gethostname()
    workers = {
        name: WorkerProcess(
            redis_url=redis_server.url,
            log_path=tmp_path / f"{name}.log",
            queues=name,
            concurrency=1,
            name=name,
            nodename=f"{name}@{host}",
        ).start()
        for name in ("algorithms", "baselines")
    }
    try:
        for worker in workers.values():
            worker.wait_ready()
        yield workers
    finally:
        for worker in workers.values():
            worker.stop()


def test_the_only_algorithms_worker_reproduces_its_own_run_and_says_so(
    world, default_workers, tmp_path: Path, settings
):
    algorithms, baselines = default_workers["algorithms"], default_workers["baselines"]
    upload_algorithm(world.participant.api(), world.challenge, algorithm_zip(name="A"))
    task = imported_task(tmp_path, challenge=world.challenge, slug="arrives-later")

    def rerun() -> AlgorithmRun | None:
        run = AlgorithmRun.objects.filter(profile="benchmark", task=task).first()
        return run if run is not None and run.status in ("succeeded", "failed") else None

    original = wait_for(rerun, timeout=TIMEOUT, what="the re-run", worker=algorithms)
    assert original.status == "succeeded", original.error
    assert original.worker_hostname == algorithms.nodename
    # The baselines worker ran the task's AutoGluon baseline a moment ago (its history, as
    # `make run` makes it; the fit itself is the baseline tests').
    make_run(
        world.classification,
        status="succeeded",
        worker_hostname=baselines.nodename,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )

    settings.REPRODUCTION_SHARE = 1.0  # every finished run is sampled (a hidden check's own)
    assert benchmark_tick()["reproductions"] == 1
    reproduction = AlgorithmRun.objects.get(reproduces=original)

    def reproduced() -> AlgorithmRun | None:
        jobs_republish()  # the beat's look (none runs here): a lost doorbell is sent again
        run = AlgorithmRun.objects.get(pk=reproduction.pk)
        return run if run.status in ("succeeded", "failed") else None

    done = wait_for(
        reproduced, timeout=TIMEOUT, what="the reproduction", worker=algorithms, interval=1
    )
    assert done.status == "succeeded", done.error
    assert done.agreement == 1.0 and done.worker_hostname == algorithms.nodename
    assert done.manifest["reproduction"] == {
        "worker": algorithms.nodename,
        "original_worker": algorithms.nodename,
        "placement": SAME_WORKER,
    }
    body = world.participant.api().get(f"/api/v1/algorithm-runs/{original.pk}/").json()
    assert body["reproduced"] == {"run": done.pk, "agreement": 1.0, "placement": SAME_WORKER}
