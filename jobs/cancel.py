"""Cancelling a job (part of the one job lifecycle, :mod:`jobs.lifecycle`): a queued job
ends at once, a running one is flagged and its worker stops it.

Public API (stable; extend, don't rename):

- :func:`job_cancel` / :class:`JobAlreadyFinished` - the one cancel of every job type with
  a ``cancel_requested`` flag (algorithm runs and baseline runs).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from jobs.changes import ring_after_commit
from jobs.registry import CHANGED, FINISHED, STATUS, JobType

logger = logging.getLogger("jobs.lifecycle")


class JobAlreadyFinished(Exception):
    """:func:`job_cancel` found the job already final; ``job`` is its locked row."""

    def __init__(self, job: Any) -> None:
        super().__init__(f"{job} has already finished")
        self.job = job


def job_cancel(
    *, job_type: JobType,
    pk: int,
    cancelled: str,
    message_field: str,
    message: str = "cancelled before a worker started it",
) -> Any:
    """Cancel a job under its row lock: a queued one ends ``cancelled`` at once (with
    ``message``); a running one is flagged (``cancel_requested``) and its worker stops it
    within seconds. Returns the locked row; raises :class:`JobAlreadyFinished` when final.
    The one cancel of every job type with a ``cancel_requested`` flag (algorithm runs and
    baseline runs)."""
    now = timezone.now()
    with transaction.atomic():
        job = job_type.model._default_manager.select_for_update().get(pk=pk)
        status = getattr(job, STATUS)
        if status == job_type.queued:
            update = {
                STATUS: cancelled,
                "cancel_requested": True,
                message_field: message,
                CHANGED: now,
                FINISHED: now,
            }
            for name, value in update.items():
                setattr(job, name, value)
            job.save(update_fields=list(update))
            ring_after_commit(model=job_type.model, pk=pk)
        elif status == job_type.running:
            if not job.cancel_requested:
                job.cancel_requested = True
                job.save(update_fields=["cancel_requested"])
        else:
            raise JobAlreadyFinished(job)
    logger.info("%s %s: cancel requested (%s)", job_type.label, pk, status)
    return job
