"""Celery tasks of the scoring app: thin wrappers over the services
(docs/architecture.md, House style: Celery).

Only workers, the beat and the reports on running jobs import this module (Celery's
autodiscovery): a publisher sends a task by the name, and to the queue, its app's
``task_names`` declares, so this module imports the services it calls at its top
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Task modules are the
workers'").
"""

from __future__ import annotations

from django.conf import settings
from django.db import InterfaceError, OperationalError

from jobs.celery import TemporaryError, platform_task
from scoring import task_names
from scoring.services import lifecycle, reference_builds
from scoring.services.sweep import submissions_sweep


@platform_task(
    name=task_names.SCORE_SUBMISSION,
    soft_time_limit=settings.SCORING_SOFT_TIME_LIMIT,
    time_limit=settings.SCORING_HARD_TIME_LIMIT,
)
def score_submission(*, submission_pk: int) -> str:
    """Validate and score one submission. Idempotent: a redelivered message is harmless.

    A retry keeps the message's task id, so it may take back the row its failed try held.
    """
    try:
        return lifecycle.submission_score(
            submission_pk=submission_pk, delivery_id=score_submission.request.id
        )
    except (OperationalError, InterfaceError) as exc:
        raise TemporaryError(f"the database was unavailable: {exc}") from exc


@platform_task(
    name=task_names.SWEEP_SUBMISSIONS,
    soft_time_limit=50,
    time_limit=55,
    every=60.0,
    beat="sweep-stuck-submissions",
)
def sweep_submissions() -> dict[str, list[int]]:
    """Every minute (beat): re-queue submissions a lost message or a dead worker stranded."""
    report = submissions_sweep()
    # ... and the trivial baseline builds of tasks that arrived (the same stranding).
    builds = reference_builds.reference_builds_sweep()
    return {
        "requeued": report.requeued,
        "failed": report.failed,
        "reference_builds_requeued": builds.requeued,
        "reference_builds_failed": builds.failed,
    }


@platform_task(
    name=task_names.BUILD_TRIVIAL_REFERENCE,
    soft_time_limit=settings.SCORING_SOFT_TIME_LIMIT,
    time_limit=settings.SCORING_HARD_TIME_LIMIT,
)
def build_trivial_reference(*, build_pk: int) -> str:
    """Build and score the trivial baseline of a task that arrived. Idempotent."""
    try:
        return reference_builds.reference_trivial_build(
            build_pk=build_pk, delivery_id=build_trivial_reference.request.id
        )
    except (OperationalError, InterfaceError) as exc:
        raise TemporaryError(f"the database was unavailable: {exc}") from exc
