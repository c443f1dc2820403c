"""Cancelling a job (part of the one job lifecycle, :mod:`challenge_platform.jobs`, which
re-exports it): a queued job ends at once, a running one is flagged and its worker stops it.

Public API (stable; extend, don't rename; use it as ``jobs.job_cancel``):

- :func:`job_cancel` / :class:`JobAlreadyFinished` - the one cancel of every job kind with
  a ``cancel_requested`` flag (algorithm runs and baseline runs).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

if TYPE_CHECKING:
    from challenge_platform.jobs import JobKind

logger = logging.getLogger("challenge_platform.jobs")


class JobAlreadyFinished(Exception):
    """:func:`job_cancel` found the job already final; ``job`` is its locked row."""

    def __init__(self, job: Any) -> None:
        super().__init__(f"{job} has already finished")
        self.job = job


def job_cancel(
    kind: JobKind,
    *,
    pk: int,
    cancelled: str,
    message_field: str,
    message: str = "cancelled before a worker started it",
) -> Any:
    """Cancel a job under its row lock: a queued one ends ``cancelled`` at once (with
    ``message``); a running one is flagged (``cancel_requested``) and its worker stops it
    within seconds. Returns the locked row; raises :class:`JobAlreadyFinished` when final.
    The one cancel of every job kind with a ``cancel_requested`` flag (algorithm runs and
    baseline runs)."""
    now = timezone.now()
    with transaction.atomic():
        job = kind.model.objects.select_for_update().get(pk=pk)
        status = getattr(job, kind.status_field)
        if status == kind.queued:
            setattr(job, kind.status_field, cancelled)
            job.cancel_requested = True
            setattr(job, message_field, message)
            setattr(job, kind.changed_field, now)
            update = [kind.status_field, "cancel_requested", message_field, kind.changed_field]
            if kind.finished_field:
                setattr(job, kind.finished_field, now)
                update.append(kind.finished_field)
            job.save(update_fields=update)
        elif status == kind.running:
            if not job.cancel_requested:
                job.cancel_requested = True
                job.save(update_fields=["cancel_requested"])
        else:
            raise JobAlreadyFinished(job)
    logger.info("%s %s: cancel requested (%s)", kind.label, pk, status)
    return job
