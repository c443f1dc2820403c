"""The submissions sweeper and rescoring: putting rows back in the queue."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from challenges import hooks
from challenges.audit import audit_record
from datasets.models import Task
from jobs import lifecycle, sweeps
from jobs.holders import when_holder_lost
from scoring.models import Submission, SubmissionStatus
from scoring.services.lifecycle import (
    INTERNAL_ERROR_MESSAGE,
    SCORING,
    publish_scoring,
)

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500
SweepReport = sweeps.SweepReport


@when_holder_lost(job_type=SCORING)
def _decide(submission: Submission, now: datetime) -> tuple[str, dict[str, Any]]:
    """A stranded submission (its message lost, or its worker dead) goes back to the queue
    while it has attempts left; else it fails, announced like any other failure (the team
    is mailed the internal-error message) once the row's failure is committed."""
    if lifecycle.attempts_left(job_type=SCORING, job=submission) <= 0:
        pk = submission.pk
        transaction.on_commit(lambda: hooks.emit(event=hooks.SubmissionFinished(submission_id=pk)))
        return lifecycle.FAILED, {"error": INTERNAL_ERROR_MESSAGE}
    return lifecycle.REQUEUED, {}


def submissions_sweep(*, now: datetime | None = None) -> SweepReport:
    """Re-queue submissions stuck in ``scoring`` past ``SWEEPER_STALE_AFTER_SECONDS``.

    A dead worker leaves a row ``scoring``: it goes back to ``queued`` with a fresh message,
    unless it used every attempt: ``failed``. A dead worker's submissions come back sooner,
    once it stops beating (:mod:`jobs.liveness`); this is the last resort. (A lost message
    leaves a row ``queued``: :mod:`jobs.republish` sends it again.)
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SWEEPER_STALE_AFTER_SECONDS)
    stale = Q(status=SubmissionStatus.SCORING) & (
        Q(status_changed_at__lt=cutoff) | Q(status_changed_at__isnull=True)
    )
    return sweeps.jobs_sweep(
        job_type=SCORING, stale=stale, now=now, decide=_decide, batch=SWEEP_BATCH
    )


_RESET = {
    "status": SubmissionStatus.QUEUED,
    "error": "",
    "attempts": 0,
    "claim_token": "",
    "scores": {},
    "public_score": None,
    "private_score": None,
    "row_count": None,
    "started_at": None,
    "finished_at": None,
    "scoring_seconds": None,
}


def submission_rescore(
    *, submission: Submission, actor: Any = None, reason: str = ""
) -> Submission:
    """Score again from scratch (organizer action): back to ``queued``, published on commit."""
    before = {"status": submission.status, "public_score": submission.public_score}
    with transaction.atomic():
        _rescore(Submission.objects.filter(pk=submission.pk), task_ids={submission.task_id})
        submission.refresh_from_db()
        after = {"status": submission.status, "public_score": submission.public_score}
        audit_record(
            actor=actor,
            action="submission.rescore",
            obj=submission,
            before=before,
            after=after,
            reason=reason,
        )
    return submission


def task_rescore(*, task: Task, actor: Any = None, reason: str = "") -> int:
    """Score every submission of ``task`` again, e.g. after the solution was corrected."""
    with transaction.atomic():
        count = task_submissions_requeue(task_id=task.pk)
        audit_record(
            actor=actor,
            action="task.rescore",
            obj=task,
            after={"submissions_requeued": count},
            reason=reason,
        )
    return count


def task_submissions_requeue(
    *,
    task_id: int,
    only_phases: set[int] | None = None,
    except_phases: set[int] | frozenset[int] = frozenset(),
) -> int:
    """Put every submission of the task back in the queue (no audit: the caller records
    why, e.g. ``task.rescore`` or ``task.replace``); returns how many. ``only_phases``/
    ``except_phases``: the entries of those phases only / not (a phase's own data version,
    ``datasets.phase_versions``)."""
    submissions = Submission.objects.filter(task_id=task_id)
    if only_phases is not None:
        submissions = submissions.filter(phase_id__in=only_phases)
    if except_phases:
        submissions = submissions.exclude(phase_id__in=except_phases)
    return _rescore(submissions, task_ids={task_id})


def _rescore(submissions: QuerySet[Submission], *, task_ids: set[int]) -> int:
    now = timezone.now()
    with transaction.atomic():
        pks = list(submissions.select_for_update().order_by("pk").values_list("pk", flat=True))
        Submission.objects.filter(pk__in=pks).update(status_changed_at=now, **_RESET)
        for pk in pks:
            publish_scoring(submission_pk=pk)
        for task_id in task_ids:
            transaction.on_commit(
                lambda task_id=task_id: hooks.emit(event=hooks.TaskResultsChanged(task_id=task_id))
            )
    logger.info("re-queued %s submissions for scoring", len(pks))
    return len(pks)
