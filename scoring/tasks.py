"""Celery tasks of the scoring app: thin wrappers over the services
(docs/architecture.md, House style: Celery).

Each task imports its service when it first runs: every process imports this module at
start to register the tasks, and only a worker runs them
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Receivers and tasks import
services at call time").
"""

from __future__ import annotations

from django.conf import settings
from django.db import InterfaceError, OperationalError

from jobs.celery import TemporaryError, platform_task
from scoring import task_names


@platform_task(
    name=task_names.SCORE_SUBMISSION,
    queue="scoring",
    soft_time_limit=settings.SCORING_SOFT_TIME_LIMIT,
    time_limit=settings.SCORING_HARD_TIME_LIMIT,
)
def score_submission(*, submission_pk: int) -> str:
    """Validate and score one submission. Idempotent: a redelivered message is harmless.

    A retry keeps the message's task id, so it may take back the row its failed try held.
    """
    from scoring.services import lifecycle

    try:
        return lifecycle.submission_score(
            submission_pk=submission_pk, delivery_id=score_submission.request.id
        )
    except (OperationalError, InterfaceError) as exc:
        raise TemporaryError(f"the database was unavailable: {exc}") from exc


@platform_task(
    name=task_names.SWEEP_SUBMISSIONS,
    queue="scoring",
    soft_time_limit=50,
    time_limit=55,
    every=60.0,
    beat="sweep-stuck-submissions",
)
def sweep_submissions() -> dict[str, list[int]]:
    """Every minute (beat): re-queue submissions a lost message or a dead worker stranded."""
    from scoring.services import reference_builds
    from scoring.services.sweep import submissions_sweep

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
    queue="scoring",
    soft_time_limit=settings.SCORING_SOFT_TIME_LIMIT,
    time_limit=settings.SCORING_HARD_TIME_LIMIT,
)
def build_trivial_reference(*, build_pk: int) -> str:
    """Build and score the trivial baseline of a task that arrived. Idempotent."""
    from scoring.services import reference_builds

    try:
        return reference_builds.reference_trivial_build(
            build_pk=build_pk, delivery_id=build_trivial_reference.request.id
        )
    except (OperationalError, InterfaceError) as exc:
        raise TemporaryError(f"the database was unavailable: {exc}") from exc
