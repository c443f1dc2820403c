"""Celery tasks of the baselines app: thin wrappers over the services (STYLE: Celery).

Limits, from the outside in: Celery's hard limit (``BASELINE_HARD_TIME_LIMIT``) kills the
pool process; the soft limit, 60 s earlier, raises ``SoftTimeLimitExceeded`` in the task,
which kills the runner's process group and records ``timed_out``; each run's own
``hard_timeout`` (at most the soft limit minus the task's overhead) makes the launcher stop
the runner first, so the soft limit only catches a slow copy or upload.
"""

from __future__ import annotations

from challenge_platform.celery import platform_task
from scoring.baselines import services


@platform_task(
    queue="baselines",
    soft_time_limit=services.worker_soft_time_limit(),
    time_limit=services.worker_hard_time_limit(),
    max_retries=0,
)
def run_baseline(*, run_pk: int) -> str:
    """Fit the AutoGluon baseline of one run and submit its predictions. Idempotent."""
    request = run_baseline.request
    return services.baseline_run_execute(
        run_pk=run_pk, delivery_id=request.id, worker=request.hostname
    )


@platform_task(queue="scoring", soft_time_limit=50, time_limit=55)
def sweep_baseline_runs() -> dict[str, list[int]]:
    """Every minute (beat): re-publish runs a lost message left queued, end runs whose worker
    died. On the fast ``scoring`` queue: the ``baselines`` one may be busy for minutes."""
    report = services.baseline_runs_sweep()
    return {"requeued": report.requeued, "failed": report.failed}
