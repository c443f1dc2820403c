"""First answers before extra answers (issue 50, point 5), through a real Redis, the real
baselines and algorithms workers of the embedded default (one run at a time each), the
sandbox and the AutoGluon baseline.

A demo-like challenge has its extras queued: on the baselines queue a baseline run again on
unchanged data and a baseline stress run; on the algorithms queue a kept method's re-run of a
cell that has its answer, a stress run and a reproduction. Then a task is imported. Its
AutoGluon baseline and the kept method's first run on it are claimed before every one of
those older extras: the order is read from the rows' ``started_at``, not from timing.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from algorithms.models import AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion
from algorithms.services.baseline import baseline_run_again
from algorithms.services.benchmark import reproductions_queue
from algorithms.services.execute import algorithm_run_execute
from algorithms.services.profiles import BASELINE_STRESS, BENCHMARK
from algorithms.services.runs import run_create
from algorithms.services.stress_queue import stress_queue
from testkit.archives import algorithm_zip
from tests.algorithms_tests.worker_helpers import upload_algorithm
from tests.scoring_tests.factories import imported_task
from tests.support.baseline_runs import make_run
from tests.support.celery_worker import WorkerProcess
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]

TIMEOUT = 420
FINAL = (AlgorithmRunStatus.SUCCEEDED, AlgorithmRunStatus.FAILED, AlgorithmRunStatus.CANCELLED)


@pytest.fixture
def start_workers(redis_server, broker, transactional_db, tmp_path: Path) -> Iterator:
    """Starts the embedded default's baselines and algorithms workers (the latter scores
    too), each one run at a time, when the test asks."""
    host = socket.gethostname()
    started: dict[str, WorkerProcess] = {}

    def start() -> dict[str, WorkerProcess]:
        for name, queues in (("baselines", "baselines"), ("algorithms", "algorithms,scoring")):
            started[name] = WorkerProcess(
                redis_url=redis_server.url,
                log_path=tmp_path / f"{name}.log",
                queues=queues,
                concurrency=1,
                name=name,
                nodename=f"{name}@{host}",
                env={"BENCHMARK_ON_ARRIVAL": "1"},
            ).start()
        for worker in started.values():
            worker.wait_ready()
        return started

    yield start
    for worker in started.values():
        worker.stop()


def test_an_imported_task_gets_its_baseline_and_first_cells_before_the_queued_extras(
    world, start_workers, tmp_path: Path, settings
):
    settings.REPRODUCTION_SHARE = 1.0
    settings.BENCHMARK_ON_ARRIVAL = True  # the import below queues its AutoGluon baseline
    challenge, known = world.challenge, world.classification
    body = upload_algorithm(world.participant.api(), challenge, algorithm_zip(name="Kept"))
    kept = AlgorithmVersion.objects.get(algorithm_id=body["id"], number=body["version"])

    # The demo's state: the kept method answered the known task, and the baseline did.
    with transaction.atomic():
        answered = run_create(profile=BENCHMARK, version=kept, task=known, audit=False)
    assert algorithm_run_execute(run_pk=answered.pk, worker="earlier@host") == "succeeded"
    baseline = make_run(
        known,
        status=AlgorithmRunStatus.SUCCEEDED,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        manifest={"task_data_version": known.data_version},
    )

    # Its extras, queued and waiting.
    extras = {
        "reproduction": reproductions_queue()[0],
        "stress": stress_queue(tasks=[known])[0],
    }
    with transaction.atomic():
        extras["again"] = run_create(profile=BENCHMARK, version=kept, task=known, audit=False)
        extras["baseline again"] = baseline_run_again(run=baseline)
        extras["baseline stress"] = run_create(
            profile=BASELINE_STRESS, version=baseline.version, task=world.matching,
            options=baseline.options, audit=False,
        )  # fmt: skip
    assert {name: run.profile for name, run in extras.items()} == {
        "reproduction": "reproduction",
        "stress": "stress",
        "again": "benchmark",
        "baseline again": "baseline",
        "baseline stress": "baseline_stress",
    }

    task = imported_task(tmp_path, challenge=challenge, slug="imported")
    new_baseline = AlgorithmRun.objects.get(task=task, profile="baseline")
    first_cell = AlgorithmRun.objects.get(task=task, profile="benchmark")
    workers = start_workers()

    def done() -> bool:
        runs = AlgorithmRun.objects.filter(
            pk__in=[new_baseline.pk, first_cell.pk, *(extras[k].pk for k in ("again", "stress"))]
        )
        return all(run.status in FINAL for run in runs) and (
            AlgorithmRun.objects.get(pk=extras["reproduction"].pk).status in FINAL
        )

    wait_for(done, timeout=TIMEOUT, what="the baseline and the algorithms' runs",
             log=list(workers.values()), interval=1)  # fmt: skip
    new_baseline.refresh_from_db()
    assert new_baseline.status == "succeeded", new_baseline.error

    def started(run: AlgorithmRun):
        return AlgorithmRun.objects.get(pk=run.pk).started_at

    # Baselines queue: the new task's baseline first, before every older extra.
    for name in ("baseline again", "baseline stress"):
        other = started(extras[name])
        assert other is None or other > new_baseline.started_at, name
    # Algorithms queue (one at a time): the first cell, then the extras in the order they
    # were queued (one class).
    order = [
        run.pk
        for run in AlgorithmRun.objects.filter(
            pk__in=[first_cell.pk, *(extras[k].pk for k in ("again", "stress", "reproduction"))]
        ).order_by("started_at")
    ]
    expected = [first_cell.pk, *(extras[k].pk for k in ("reproduction", "stress", "again"))]
    assert order == expected
