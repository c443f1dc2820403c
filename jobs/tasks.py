"""Celery tasks of the job lifecycle itself (thin: the work is in :mod:`jobs.republish`)."""

from __future__ import annotations

from jobs import republish, task_names
from jobs.celery import platform_task


@platform_task(
    name=task_names.REPUBLISH_LOST_JOBS,
    soft_time_limit=25,
    time_limit=30,
    every=republish.republish_every(),
    beat="republish-lost-jobs",
)
def republish_lost_jobs() -> dict[str, list[int]]:
    """Every ``JOB_REPUBLISH_SECONDS / 2`` (beat): publish again the message of every queued
    job that lost its own (on the fast ``scoring`` queue)."""
    return republish.jobs_republish()
