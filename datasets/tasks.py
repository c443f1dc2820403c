"""Celery tasks of the datasets app: thin wrappers over the services (docs/architecture.md,
House style: Celery).

Only workers, the beat and the reports on running jobs import this module (Celery's
autodiscovery): a publisher sends a task by the name, and to the queue, its app's
``task_names`` declares, so this module imports the services it calls at its top
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Task modules are the
workers'").
"""

from __future__ import annotations

from django.conf import settings
from django.db import InterfaceError, OperationalError

from datasets import phase_versions, task_names, version_uploads
from jobs.celery import TemporaryError, platform_task


@platform_task(
    name=task_names.CHECK_TASK_VERSION,
    soft_time_limit=settings.TASK_VERSION_CHECK_SECONDS,
    time_limit=settings.TASK_VERSION_CHECK_SECONDS + 60,
)
def check_task_version(*, upload_pk: int) -> str:
    """Check an uploaded data version and make it the task's next one, or refuse it with
    every problem. Idempotent: a redelivered message is harmless."""
    try:
        return version_uploads.task_version_check(
            upload_pk=upload_pk, delivery_id=check_task_version.request.id
        )
    except (OperationalError, InterfaceError) as exc:
        raise TemporaryError(f"the database was unavailable: {exc}") from exc


@platform_task(
    name=task_names.SWEEP_VERSION_CHECKS,
    soft_time_limit=50,
    time_limit=55,
    every=60.0,
    beat="sweep-version-checks",
)
def sweep_version_checks() -> dict[str, list[int]]:
    """Every minute (beat): re-queue data version checks a dead worker stranded, and
    release a phase's own data its phase tick missed (``datasets.phase_versions``)."""
    report = version_uploads.task_version_uploads_sweep()
    released = phase_versions.phase_versions_release_due()
    return {"requeued": report.requeued, "failed": report.failed, "released": released}
