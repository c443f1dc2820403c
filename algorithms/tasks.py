"""Celery tasks of the algorithms app: thin wrappers over the services
(docs/architecture.md, House style: Celery).

One task per queue and set of time limits, both from the run profiles
(:mod:`algorithms.services.profiles`); each runs its runs through the one pipeline.
Only workers, the beat and the reports on running jobs import this module (Celery's
autodiscovery): a publisher sends a task by the name, and to the queue, its app's
``task_names`` declares, so this module imports the services it calls at its top
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Task modules are the
workers'").
"""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError

from algorithms import task_names
from algorithms.services import execute
from algorithms.services.benchmark import benchmark_tick as tick
from algorithms.services.profiles import (
    ALGORITHM_RUNS,
    BASELINE,
    BASELINE_RUNS,
    TEAM,
    RunProfile,
)
from algorithms.services.runs import algorithm_runs_sweep
from algorithms.services.stress_queue import stress_queue
from jobs.celery import TemporaryError, platform_task


def _execute(task: Any, run_pk: int, served: tuple[RunProfile, ...]) -> str:

    request = task.request
    try:
        return execute.algorithm_run_execute(
            run_pk=run_pk, delivery_id=request.id, worker=request.hostname, served=served
        )
    except (OperationalError, InterfaceError) as exc:
        raise TemporaryError(f"the database was unavailable: {exc}") from exc


@platform_task(
    name=task_names.RUN_ALGORITHM,
    soft_time_limit=TEAM.soft_time_limit(),
    time_limit=TEAM.hard_time_limit(),
)
def run_algorithm(*, run_pk: int) -> str:
    """Run a team's or an organizer's run: one algorithm version on one task in the sandbox.
    Idempotent (claimed under a row lock; only the delivery holding the claim may finish)."""
    return _execute(run_algorithm, run_pk, ALGORITHM_RUNS)


@platform_task(
    name=task_names.RUN_BASELINE,
    soft_time_limit=BASELINE.soft_time_limit(),
    time_limit=BASELINE.hard_time_limit(),
)
def run_baseline(*, run_pk: int) -> str:
    """Run a baseline run (the AutoGluon fit) in the sandbox. Idempotent. Limits, from the
    outside in: Celery's hard limit (``BASELINE_HARD_TIME_LIMIT``) kills the pool process;
    the soft limit, 60 s earlier, raises ``SoftTimeLimitExceeded``, which kills the sandbox
    and fails the run naming the limit; the run's own hard timeout (the sandbox's wall clock,
    at most the soft limit minus the task's overhead) stops it first, so the soft limit only
    catches a slow copy or upload."""
    return _execute(run_baseline, run_pk, BASELINE_RUNS)


@platform_task(
    name=task_names.SWEEP_ALGORITHM_RUNS,
    soft_time_limit=50,
    time_limit=55,
    every=60.0,
    beat="sweep-algorithm-runs",
)
def sweep_algorithm_runs() -> dict[str, list[int]]:
    """Every minute (beat): publish again what a lost message left queued; end, or re-queue,
    runs whose worker stopped beating. On the fast ``scoring`` queue: the ``algorithms`` and
    ``baselines`` ones may be busy for minutes."""
    report = algorithm_runs_sweep()
    return {"requeued": report.requeued, "failed": report.failed}


@platform_task(
    name=task_names.BENCHMARK_TICK,
    soft_time_limit=50,
    time_limit=55,
    every=60.0,
    beat="benchmark-tick",
)
def benchmark_tick() -> dict[str, int]:
    """Every minute (beat): queue reproductions of the sampled finished runs, and ring the
    doorbell for the queued re-runs once the day's budget is open again (a new day, a higher
    budget, or this worker just started). The queue itself is in the database."""
    return tick()


@platform_task(
    name=task_names.STRESS_TICK,
    soft_time_limit=50,
    time_limit=55,
    every=60.0,
    beat="stress-tick",
)
def stress_tick() -> int:
    """Every minute (beat): queue the stress runs the tasks are missing (docs/organizers/stress.md):
    every benchmark version and the baseline with a clean run on a task with stress
    families. They wait in the database within the benchmark budget, like re-runs."""
    return len(stress_queue())
