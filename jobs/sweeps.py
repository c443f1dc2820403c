"""The sweeps of the one job lifecycle (docs/architecture.md, "The job lifecycle";
:mod:`jobs.lifecycle`): a job type's stale rows taken back (:func:`jobs_sweep`, each type
deciding ``requeued`` or ``failed`` under the row's lock), and every job a dead worker held
(:func:`jobs_sweep_lost`, seen dead by :mod:`jobs.liveness`), with the :class:`SweepReport`
both return.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from jobs.changes import ring_after_commit
from jobs.holders import (
    Decide,
    claim_lost,
    live_claims,
    lost_decision,
)
from jobs.lifecycle import (
    FAILED,
    REQUEUED,
    STALE,
    STOPPED,
    SWEEP_BATCH,
    _give_attempt_back_if_stopped,
    _save_final,
    attempts_left,
    publish_job_after_commit,
)
from jobs.registry import (
    ATTEMPTS,
    CHANGED,
    CLAIM,
    STATUS,
    JobType,
    job_type_named,
)

logger = logging.getLogger(__name__)


# --- the stale-job sweep --------------------------------------------------------------------


@dataclass(frozen=True)
class SweepReport:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def jobs_sweep(
    *,
    job_type: JobType,
    stale: Q,
    now: datetime,
    decide: Decide,
    batch: int = SWEEP_BATCH,
    report: SweepReport | None = None,
    reason: str = STALE,
) -> SweepReport:
    """Lock every row matching ``stale`` (re-checked under the lock), then apply the type's
    ``decide(job, now) -> (outcome, fields)``: :data:`REQUEUED` saves ``fields`` and the
    queued status (token cleared) and publishes the row after commit; :data:`FAILED` ends
    it with ``fields``. A running row taken this way keeps its claim as lost, with
    ``reason``. Appends to ``report`` (a fresh one by default) and returns it."""
    report = report if report is not None else SweepReport()
    rows = job_type.filter().filter(stale).order_by("pk")
    for pk in list(rows.values_list("pk", flat=True)[:batch]):
        with transaction.atomic():
            job = job_type.model._default_manager.select_for_update().filter(stale, pk=pk).first()
            if job is None:
                continue  # finished or claimed meanwhile
            refunded = False
            if getattr(job, STATUS) == job_type.running:
                refunded = _give_attempt_back_if_stopped(job_type, job)
                claim_lost(
                    job_type=job_type,
                    pk=pk,
                    now=now,
                    reason=f"{reason} ({STOPPED})" if refunded else reason,
                )
            outcome, fields = decide(job, now)
            if outcome == FAILED:
                _save_final(job_type, job, now=now, **fields)
                report.failed.append(pk)
                continue
            update = {STATUS: job_type.queued, CHANGED: now, CLAIM: "", **fields}
            if refunded:
                update.setdefault(ATTEMPTS, getattr(job, ATTEMPTS))
            for name, value in update.items():
                setattr(job, name, value)
            job.save(update_fields=list(update))
            ring_after_commit(model=job_type.model, pk=pk)
            # Urgent: it waited once already.
            publish_job_after_commit(job_type=job_type, pk=pk, urgent=True)
            report.requeued.append(pk)
    if report.requeued or report.failed:
        logger.warning(
            "%s sweeper re-queued %s and failed %s", job_type.label, report.requeued, report.failed
        )
    return report


# --- taking jobs back from a dead worker ----------------------------------------------------


def _requeue_while_attempts_left(job_type: JobType) -> Decide:
    def decide(job: Any, now: datetime) -> tuple[str, dict[str, Any]]:
        return (REQUEUED, {}) if attempts_left(job_type=job_type, job=job) > 0 else (FAILED, {})

    return decide


def jobs_sweep_lost(*, holder: str, reason: str, now: datetime | None = None) -> SweepReport:
    """Take back every job ``holder`` (a dead worker) still runs: each type's lost-holder
    decision (:func:`jobs.holders.when_holder_lost`) re-queues or fails it under the row's
    lock, and its claim is kept with ``reason``. A claim whose job is no longer running
    under it is dropped. Safe to run twice or concurrently (the rows are re-checked under
    their lock)."""
    now = now or timezone.now()
    report = SweepReport()
    claims = live_claims(holder=holder)
    for key in sorted(set(claims.values_list("job_type", flat=True))):
        job_type = job_type_named(key=key)
        if job_type is None:
            logger.error("no job type %s is registered here; the sweeper will take its jobs", key)
            continue
        held = claims.filter(job_type=key, object_id=OuterRef("pk"), token=OuterRef(CLAIM))
        stale = Q(**{STATUS: job_type.running}) & Q(Exists(held))
        decide = lost_decision(job_type=job_type) or _requeue_while_attempts_left(job_type)
        before = len(report.requeued) + len(report.failed)
        jobs_sweep(
            job_type=job_type, stale=stale, now=now, decide=decide, report=report, reason=reason
        )
        if len(report.requeued) + len(report.failed) > before:
            logger.warning("%s of %s taken back: %s", job_type.label, holder, reason)
        still = job_type.filter(
            pk=OuterRef("object_id"), **{STATUS: job_type.running, CLAIM: OuterRef("token")}
        )
        claims.filter(job_type=key, claimed_at__lte=now).exclude(Exists(still)).delete()
    return report
