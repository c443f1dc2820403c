"""Celery tasks of the algorithms app: thin wrappers over the services (STYLE: Celery)."""

from __future__ import annotations

from django.conf import settings
from django.db import InterfaceError, OperationalError

from algorithms import services
from algorithms.services.baseline import baseline_run_execute
from challenge_platform.celery import TemporaryError, platform_task
from scoring.baselines.services import worker_hard_time_limit, worker_soft_time_limit


@platform_task(
    queue="algorithms",
    soft_time_limit=settings.ALGORITHM_SOFT_TIME_LIMIT,
    time_limit=settings.ALGORITHM_HARD_TIME_LIMIT,
)
def run_algorithm(*, run_pk: int) -> str:
    """Run one algorithm version on one task in the sandbox. Idempotent (claimed under a
    row lock; only the delivery holding the claim may finish the run)."""
    try:
        return services.algorithm_run_execute(run_pk=run_pk, delivery_id=run_algorithm.request.id)
    except (OperationalError, InterfaceError) as exc:
        raise TemporaryError(f"the database was unavailable: {exc}") from exc


@platform_task(queue="scoring", soft_time_limit=50, time_limit=55)
def sweep_algorithm_runs() -> dict[str, list[int]]:
    """Every minute (beat): publish again what a lost message or a dead worker stranded."""
    report = services.algorithm_runs_sweep()
    return {"requeued": report.requeued, "failed": report.failed}


@platform_task(
    queue="baselines",
    soft_time_limit=worker_soft_time_limit(),
    time_limit=worker_hard_time_limit(),
    max_retries=0,
)
def run_baseline(*, run_pk: int) -> str:
    """Fit the AutoGluon baseline of one run in the sandbox and submit its predictions.
    Idempotent. Limits, from the outside in: Celery's hard limit
    (``BASELINE_HARD_TIME_LIMIT``) kills the pool process; the soft limit, 60 s earlier,
    raises ``SoftTimeLimitExceeded``, which kills the sandbox and records ``timed_out``; the
    run's own ``hard_timeout`` (the sandbox's wall clock, at most the soft limit minus the
    task's overhead) stops it first, so the soft limit only catches a slow copy or upload."""
    request = run_baseline.request
    return baseline_run_execute(run_pk=run_pk, delivery_id=request.id, worker=request.hostname)
