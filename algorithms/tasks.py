"""Celery tasks of the algorithms app: thin wrappers over the services (STYLE: Celery)."""

from __future__ import annotations

from django.conf import settings
from django.db import InterfaceError, OperationalError

from algorithms import services
from challenge_platform.celery import TemporaryError, platform_task


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
