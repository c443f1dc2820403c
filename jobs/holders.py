"""Holders: which worker runs a job (one claims table for every job type).

A claim made in a Celery worker records which worker holds the job (a
:class:`jobs.models.JobClaim` row); leaving the running state removes it; a job taken from
its holder keeps its claim row with ``lost_at`` and the reason. The job lifecycle
(:mod:`jobs.lifecycle`) writes these rows under each job's lock and takes back every job a
dead worker held (:func:`jobs.sweeps.jobs_sweep_lost`, which :mod:`jobs.worker` calls
when :mod:`jobs.liveness` sees a worker die).

Public API (stable; extend, don't rename):

- :func:`when_holder_lost` - register a type's decision for its running rows whose worker
  died (by default: re-queue while attempts are left, else fail).
- :func:`claim_holders` - every worker that holds a job now.
- :func:`claim_record` / :func:`claim_release` / :func:`claim_lost` - the claim rows, for
  the job lifecycle only (inside the transaction holding the job's lock).
- :func:`claims_stopping` / :func:`holder_stopping` / :func:`claim_stopped` - a worker asked
  to stop marks its claims (:mod:`jobs.stopping`): what is taken back from it is no crash.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import models

from jobs.liveness import current_holder
from jobs.models import JobClaim
from jobs.registry import JobType

Decide = Callable[[Any, datetime], tuple[str, dict[str, Any]]]
"""A type's decision for a row taken back: ``decide(job, now) -> (outcome, fields)``."""

_LOST: dict[str, Decide] = {}


def _claims() -> models.QuerySet:
    return JobClaim.objects.all()


def claim_record(*, job_type: JobType, pk: int, token: str, now: datetime) -> None:
    """Inside the claim's transaction: this process's worker holds row ``pk`` under
    ``token`` (nothing outside a worker: a claim made in a web process or a test has no
    holder to lose)."""
    holder = current_holder()
    if not holder:
        return
    live = _claims().filter(job_type=job_type.key, object_id=pk, lost_at__isnull=True)
    live.delete()  # a claim whose job ended without leaving its running state by the lifecycle
    _claims().create(
        job_type=job_type.key, object_id=pk, token=token, holder=holder, claimed_at=now
    )


def claim_release(*, job_type: JobType, pk: int) -> None:
    """The job left its running state normally: its claim is over."""
    _claims().filter(job_type=job_type.key, object_id=pk, lost_at__isnull=True).delete()


def claim_lost(*, job_type: JobType, pk: int, now: datetime, reason: str) -> None:
    """The job is taken from its holder: keep the claim as the record of why."""
    _claims().filter(job_type=job_type.key, object_id=pk, lost_at__isnull=True).update(
        lost_at=now, lost_reason=reason[:2000]
    )


def claims_stopping(*, holder: str, now: datetime) -> int:
    """``holder``'s worker was asked to stop (:mod:`jobs.stopping`): mark the claims it still
    has, so that what is taken back from it gets its attempt back; how many."""
    return live_claims(holder=holder).filter(stopping_at__isnull=True).update(stopping_at=now)


def holder_stopping(*, holder: str) -> bool:
    """Whether ``holder``'s main process marked its claims as stopping."""
    return live_claims(holder=holder).filter(stopping_at__isnull=False).exists()


def claim_stopped(*, job_type: JobType, pk: int) -> bool:
    """Whether the worker holding row ``pk`` now was stopping (not crashing) when it held it
    (inside the transaction holding the job's lock, before :func:`claim_lost`)."""
    return (
        _claims()
        .filter(job_type=job_type.key, object_id=pk, lost_at__isnull=True)
        .filter(stopping_at__isnull=False)
        .exists()
    )


def live_claims(*, holder: str) -> models.QuerySet:
    """The claims ``holder`` still has (not taken back yet)."""
    return _claims().filter(holder=holder, lost_at__isnull=True)


def claim_holders() -> list[str]:
    """Every worker that holds a job now, per the claims table (a small table: a claim
    lives while its job runs)."""
    live = _claims().filter(lost_at__isnull=True).exclude(holder="")
    return sorted(set(live.values_list("holder", flat=True)))


def when_holder_lost(*, job_type: JobType) -> Callable[[Decide], Decide]:
    """Register ``decide(job, now) -> (outcome, fields)`` for ``job_type``'s running rows
    whose worker died (used by :func:`jobs.sweeps.jobs_sweep_lost`; usually the type's
    stale-row decision). Without one, such a row is re-queued while it has attempts
    left, else failed."""

    def register(decide: Decide) -> Decide:
        _LOST[job_type.key] = decide
        return decide

    return register


def lost_decision(*, job_type: JobType) -> Decide | None:
    """The decision :func:`when_holder_lost` registered for ``job_type``, if any."""
    return _LOST.get(job_type.key)
