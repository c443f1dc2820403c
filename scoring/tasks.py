"""Celery tasks of the scoring app: thin wrappers over the services (STYLE: Celery)."""

from __future__ import annotations

from django.conf import settings
from django.db import InterfaceError, OperationalError

from jobs.celery import TemporaryError, platform_task
from scoring import services


@platform_task(
    queue="scoring",
    soft_time_limit=settings.SCORING_SOFT_TIME_LIMIT,
    time_limit=settings.SCORING_HARD_TIME_LIMIT,
)
def score_submission(*, submission_pk: int) -> str:
    """Validate and score one submission. Idempotent: a redelivered message is harmless.

    A retry keeps the message's task id, so it may take back the row its failed try held.
    """
    try:
        return services.submission_score(
            submission_pk=submission_pk, delivery_id=score_submission.request.id
        )
    except (OperationalError, InterfaceError) as exc:
        raise TemporaryError(f"the database was unavailable: {exc}") from exc


@platform_task(
    queue="scoring", soft_time_limit=50, time_limit=55, every=60.0, beat="sweep-stuck-submissions"
)
def sweep_submissions() -> dict[str, list[int]]:
    """Every minute (beat): re-queue submissions a lost message or a dead worker stranded."""
    report = services.submissions_sweep()
    return {"requeued": report.requeued, "failed": report.failed}
