"""Celery tasks of the baselines app: thin wrappers over the services (STYLE: Celery).

The run itself, ``run_baseline``, is ``algorithms.tasks.run_baseline``: the baseline is an
algorithm and runs through the algorithms sandbox, above scoring in the layers.
"""

from __future__ import annotations

from challenge_platform.celery import platform_task
from scoring.baselines import services


@platform_task(queue="scoring", soft_time_limit=50, time_limit=55)
def sweep_baseline_runs() -> dict[str, list[int]]:
    """Every minute (beat): re-publish runs a lost message left queued, end runs whose worker
    died. On the fast ``scoring`` queue: the ``baselines`` one may be busy for minutes."""
    report = services.baseline_runs_sweep()
    return {"requeued": report.requeued, "failed": report.failed}
