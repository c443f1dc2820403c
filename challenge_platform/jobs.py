"""One lifecycle for every database-driven job (scoring, algorithm runs, webhook deliveries).

The row is the truth and the broker only a doorbell. A job kind is a model with a status
field, a status-change timestamp and a token field naming the delivery that holds the row;
this module knows no app model, only a :class:`JobKind` describing one::

    SCORING = JobKind(
        model=Submission, task_name="scoring.tasks.score_submission", pk_kwarg="submission_pk",
        queued="queued", running="scoring", final=("scored", "failed"), failed="failed",
        token_field="scoring_token", attempts_field="attempts",
        max_attempts=lambda: settings.SCORING_MAX_ATTEMPTS,
    )

Public API (stable; extend, don't rename):

- :func:`job_claim` - ``queued -> running`` under ``select_for_update`` with a token naming
  the delivery; ``None`` when there is nothing to do (gone, final, held by another
  delivery, attempts used up, or a redelivery the kind refuses to resume).
- :func:`job_claim_next` - claim the *best* queued row of a kind (eligibility, an order),
  whichever message asked: the message is a doorbell; :func:`job_held_by` - the row a
  delivery holds (a redelivery finds its own claim).
- :func:`job_locked` - a transaction holding the row's lock *only if* it is still in the
  expected state under ``token`` (yields the row or ``None``).
- :func:`job_transition` - leave the running state (or any ``expected`` one) if this
  delivery still holds the row; runs ``then`` in the same transaction; returns ``bool``.
- :func:`job_requeue` / :func:`job_retry_or_fail` / :func:`attempts_left` /
  :func:`retry_countdown` - bounded retries on named temporary errors, with the kind's
  backoff; a kind with a ``due_field`` is scheduled for later (the row says when, the
  claim refuses it before then, the sweeper re-publishes it when a message was lost).
- :func:`jobs_sweep` + :class:`SweepReport` - the stale-job sweep (lock each stale row,
  re-check it, let the kind decide ``requeued`` or ``failed``).
- Holders: a claim made in a Celery worker records which worker holds the job
  (:mod:`challenge_platform.job_holders`, one claims table for every kind); leaving the
  running state removes it. :func:`jobs_sweep_lost` takes back every job a dead worker held
  (seen dead by :mod:`challenge_platform.workers`), each kind deciding as for a stale row
  (:func:`~challenge_platform.job_holders.when_holder_lost` registers that decision; by
  default re-queue while attempts are left). A job taken from its holder keeps its claim
  row with ``lost_at`` and the reason.
- :func:`publish_after_commit` / :func:`publish` / :func:`publish_job_after_commit` - send
  a Celery task **by name** (after commit), so services never import task modules; the
  queue comes from the task's ``platform_task`` registration; an unknown name raises
  ``LookupError``, a broker failure is logged (the sweeper re-queues). A job the sweep
  re-queues (stale, or its worker seen dead) is published ``urgent``: ahead of the queue.
- :func:`job_cancel` / :class:`JobAlreadyFinished` (in :mod:`challenge_platform.job_cancel`).

General helpers live in ``common``: ``common.files.delete_file_quietly``,
``common.finite.json_finite`` and ``common.finite.float_or_none``.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from challenge_platform.celery import TASK_QUEUES, app
from challenge_platform.job_cancel import JobAlreadyFinished, job_cancel  # noqa: F401 - API
from challenge_platform.job_holders import (
    Decide,
    claim_lost,
    claim_record,
    claim_release,
    live_claims,
    lost_decision,
)

logger = logging.getLogger(__name__)

RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}
# The broker priority of a re-queued job (see publish): on Redis, 0 is served first.
URGENT_PRIORITY = 0
SWEEP_BATCH = 500

REQUEUED = "requeued"
FAILED = "failed"


@dataclass(frozen=True)
class JobKind:
    """How one model plays the job lifecycle (field names and the states that matter)."""

    model: type[models.Model]
    task_name: str  # the Celery task that does the work, e.g. "scoring.tasks.score_submission"
    pk_kwarg: str  # the task's keyword argument for the row's pk, e.g. "submission_pk"
    queued: str
    running: str
    final: Sequence[str]
    failed: str
    token_field: str
    status_field: str = "status"
    changed_field: str = "status_changed_at"
    started_field: str | None = "started_at"
    finished_field: str | None = "finished_at"
    attempts_field: str | None = None
    max_attempts: Callable[[], int] | None = None  # read lazily: settings may change in tests
    # When a queued row may be claimed (None: at once). A retry sets it to now + backoff.
    due_field: str | None = None
    # Seconds to wait before the next try after the n-th (read lazily); default retry_countdown.
    backoff: Callable[[int], float] | None = None
    label: str = "job"

    def __post_init__(self) -> None:
        # Fields are passed to job_transition as keywords, beside its own parameters.
        named = (self.token_field, self.changed_field, self.started_field, self.finished_field)
        clash = set(named) & {"pk", "token", "status", "expected", "then"}
        if clash:
            raise ValueError(f"a job kind's field may not be named {sorted(clash)}")
        _KINDS.setdefault(self.key, self)

    @property
    def key(self) -> str:
        """The kind's name in claim rows: its Celery task (``scoring.tasks.score_submission``),
        which says how the job runs and where it is published again."""
        return self.task_name

    def filter(self, **lookups: Any) -> models.QuerySet:
        return self.model._default_manager.filter(**lookups)


_KINDS: dict[str, JobKind] = {}


# --- publishing ---------------------------------------------------------------------------


def publish(
    task_name: str, /, *, countdown: float | None = None, urgent: bool = False, **kwargs: Any
) -> bool:
    """Send the Celery task ``task_name`` with ``kwargs`` now; False (logged) if the broker
    refused. A lost message is never fatal: the kind's sweeper re-queues the row.

    The task is sent by name; its queue is the one its ``platform_task`` registered. A
    process that has not loaded the task's module yet (a web process) loads it by name once
    (a project task is named ``<module>.<function>``), like a worker's autodiscovery, but
    without Celery's Django set-up. An unknown name is a programming error: ``LookupError``.

    Every message goes at the broker's normal priority (``CELERY_TASK_DEFAULT_PRIORITY``);
    an ``urgent`` one (a job taken back from a dead worker or a stale row: it waited once
    already) at :data:`URGENT_PRIORITY`, which every worker takes before any normal message
    of its queues (kombu's Redis transport keeps a list per priority step and pops the
    lowest number first).
    """
    if task_name not in TASK_QUEUES:
        with contextlib.suppress(ImportError):
            importlib.import_module(task_name.rpartition(".")[0])
        if task_name not in TASK_QUEUES:
            raise LookupError(f"no Celery task named {task_name!r} (see platform_task)")
    try:
        app.send_task(
            task_name,
            kwargs=kwargs,
            countdown=countdown,
            queue=TASK_QUEUES.get(task_name),
            priority=URGENT_PRIORITY if urgent else app.conf.task_default_priority,
            retry_policy=RETRY_POLICY,
        )
    except Exception:
        logger.exception("could not publish %s(%s); the sweeper re-queues it", task_name, kwargs)
        return False
    return True


def publish_after_commit(
    task_name: str, /, *, countdown: float | None = None, urgent: bool = False, **kwargs: Any
) -> None:
    """Publish ``task_name(**kwargs)`` once the current transaction commits (at once outside
    one); nothing is sent if it rolls back."""
    transaction.on_commit(lambda: publish(task_name, countdown=countdown, urgent=urgent, **kwargs))


def publish_job_after_commit(
    kind: JobKind, *, pk: int, countdown: float | None = None, urgent: bool = False
) -> None:
    """Ring ``kind``'s doorbell for row ``pk`` after commit (``urgent``: ahead of the queue)."""
    publish_after_commit(kind.task_name, countdown=countdown, urgent=urgent, **{kind.pk_kwarg: pk})


# --- claim and transitions ------------------------------------------------------------------


def job_claim(
    kind: JobKind,
    *,
    pk: int,
    token: str,
    delivery_id: str | None = None,
    on_redelivery: Callable[[Any, datetime], dict[str, Any] | None] | None = None,
    exhausted: Callable[[Any, datetime], dict[str, Any]] | None = None,
    fields: Callable[[Any, datetime], dict[str, Any]] | None = None,
    select_related: Sequence[str] = (),
) -> Any | None:
    """Move row ``pk`` from ``queued`` to ``running`` under a row lock, holding ``token``.

    Returns the fresh row (``select_related`` applied) or ``None`` when there is nothing to
    do. A row found ``running`` under ``delivery_id`` itself is a redelivery (same Celery
    task id after a worker died or a retry): with ``on_redelivery`` the kind ends it, the
    callback returning the final fields (``None`` to resume instead); without, the delivery
    takes it back. A row running under another token belongs to another delivery.
    When the kind counts attempts and they are used up, the row fails with the fields of
    ``exhausted`` instead. ``fields`` adds kind-specific fields to the claim.
    """
    now = timezone.now()
    with transaction.atomic():
        job = _lockable(kind.model._default_manager.filter(pk=pk), select_related).first()
        if job is None:
            logger.warning("%s %s no longer exists", kind.label, pk)
            return None
        status = getattr(job, kind.status_field)
        if status in kind.final:
            logger.info("%s %s is already %s", kind.label, pk, status)
            return None
        if status == kind.running:
            redelivered = bool(delivery_id) and getattr(job, kind.token_field) == delivery_id
            if not redelivered:
                logger.info("%s %s is held by another delivery", kind.label, pk)
                return None
            claim_lost(kind, pk=pk, now=now, reason=REDELIVERED)
            if on_redelivery is not None:
                final = on_redelivery(job, now)
                if final is not None:
                    _save_final(kind, job, now=now, **final)
                    return None
        elif status != kind.queued:
            logger.info("%s %s is %s, not %s", kind.label, pk, status, kind.queued)
            return None
        elif kind.due_field and not _due(kind, job, now):
            logger.info("%s %s is not due yet", kind.label, pk)
            return None
        if not _take(kind, job, now=now, token=token, exhausted=exhausted, fields=fields):
            return None
    return job


def _lockable(rows: models.QuerySet, select_related: Sequence[str]) -> models.QuerySet:
    """``rows`` to lock for a claim, with their ``select_related`` read in the same query
    (the claimed row is returned as locked and updated: no second read after the claim,
    one round trip less per job). Only the job's own row is locked, never the related ones
    (``of``: a scoring must not lock its task against the task's other scorings)."""
    return rows.select_related(*select_related).select_for_update(of=("self",))


def _take(
    kind: JobKind,
    job: Any,
    *,
    now: datetime,
    token: str,
    exhausted: Callable[[Any, datetime], dict[str, Any]] | None,
    fields: Callable[[Any, datetime], dict[str, Any]] | None,
) -> bool:
    """Inside a transaction holding ``job``'s lock: move it to running under ``token`` (one
    more attempt, the kind's ``fields``, this worker recorded as its holder), or fail it
    when its attempts are used up (False)."""
    if kind.attempts_field and attempts_left(kind, job) <= 0:
        logger.error("%s %s used all its attempts", kind.label, job.pk)
        _save_final(kind, job, now=now, **(exhausted(job, now) if exhausted else {}))
        return False
    update = {kind.status_field: kind.running, kind.changed_field: now, kind.token_field: token}
    if kind.started_field:
        update[kind.started_field] = now
    if kind.finished_field:
        update[kind.finished_field] = None
    if kind.attempts_field:
        update[kind.attempts_field] = getattr(job, kind.attempts_field) + 1
    update.update(fields(job, now) if fields else {})
    for name, value in update.items():
        setattr(job, name, value)
    job.save(update_fields=list(update))
    claim_record(kind, pk=job.pk, token=token, now=now)
    return True


def job_held_by(kind: JobKind, *, token: str) -> int | None:
    """The pk of the row ``running`` under ``token`` (a delivery's own claim), if any."""
    if not token:
        return None
    return (
        kind.filter(**{kind.status_field: kind.running, kind.token_field: token})
        .values_list("pk", flat=True)
        .first()
    )


def job_claim_next(
    kind: JobKind,
    *,
    token: str,
    eligible: Q | Callable[[], Q] | None = None,
    annotate: Mapping[str, Any] | None = None,
    order: Sequence[Any] = ("pk",),
    exhausted: Callable[[Any, datetime], dict[str, Any]] | None = None,
    fields: Callable[[Any, datetime], dict[str, Any]] | None = None,
    select_related: Sequence[str] = (),
    tries: int = 20,
) -> Any | None:
    """Claim the *best* queued row of ``kind`` now, whichever message asked: the message is
    a doorbell, the database decides what runs next.

    The candidates are the kind's queued rows (due ones, for a kind with a ``due_field``)
    matching ``eligible`` (a ``Q``, or a callable returning one, asked at claim time: e.g. a
    budget that closes a class of jobs), with ``annotate`` added and sorted by ``order``
    (e.g. a priority class, a share, then age). The first one is locked with
    ``select_for_update(skip_locked=True)`` where the database has it (PostgreSQL: two
    workers never wait for, or take, the same row; SQLite serializes writers) and re-checked
    under the lock, then claimed as :func:`job_claim` claims (a token, one more attempt,
    ``fields``; a row whose attempts are used up fails with ``exhausted`` and the next one
    is tried). Returns the fresh row (``select_related`` applied) or ``None`` when nothing
    is queued (a duplicate or stale doorbell then does nothing).
    """
    condition = eligible() if callable(eligible) else eligible
    for _ in range(max(tries, 1)):
        now = timezone.now()
        candidates = kind.filter(**{kind.status_field: kind.queued})
        if kind.due_field:
            candidates = candidates.filter(
                Q(**{f"{kind.due_field}__isnull": True})
                | Q(**{f"{kind.due_field}__lte": now + DUE_SLACK})
            )
        if condition is not None:
            candidates = candidates.filter(condition)
        if annotate:
            candidates = candidates.annotate(**annotate)
        with transaction.atomic():
            job = (
                _lockable(candidates.order_by(*order), select_related)
                .select_for_update(skip_locked=True, of=("self",))
                .first()
            )
            if job is None:
                return None
            if getattr(job, kind.status_field) != kind.queued:
                continue  # claimed between the read and the lock (no skip_locked here)
            taken = _take(kind, job, now=now, token=token, exhausted=exhausted, fields=fields)
        if taken:
            return job
    return None


# A message may arrive a little before its row's time (clocks of different hosts).
DUE_SLACK = timedelta(seconds=1)


def _due(kind: JobKind, job: Any, now: datetime) -> bool:
    due = getattr(job, kind.due_field) if kind.due_field else None
    return due is None or due <= now + DUE_SLACK


def _save_final(kind: JobKind, job: Any, *, now: datetime, **fields: Any) -> None:
    """Inside a transaction holding ``job``'s lock: end it (``kind.failed`` by default)."""
    update = {kind.status_field: kind.failed, kind.changed_field: now, kind.token_field: ""}
    if kind.finished_field:
        update[kind.finished_field] = now
    update.update(fields)
    for name, value in update.items():
        setattr(job, name, value)
    job.save(update_fields=list(update))


@contextmanager
def job_locked(
    kind: JobKind, *, pk: int, token: str, expected: str | None = None
) -> Iterator[Any | None]:
    """A transaction holding row ``pk``'s lock if it is still ``expected`` (default: running)
    under ``token``; yields the row, or ``None`` when this delivery lost it."""
    with transaction.atomic():
        yield (
            kind.model._default_manager.select_for_update()
            .filter(
                pk=pk,
                **{kind.status_field: expected or kind.running, kind.token_field: token},
            )
            .first()
        )


def job_transition(
    kind: JobKind,
    *,
    pk: int,
    token: str,
    status: str,
    expected: str | None = None,
    then: Callable[[], None] | None = None,
    **fields: Any,
) -> bool:
    """Move row ``pk`` from ``expected`` (default: running) to ``status`` with ``fields`` if
    ``token`` still holds it; ``then`` runs in the same transaction after the update (e.g. a
    hook that must never show a half-finished state). False when the row was taken over.
    A final status stamps ``finished_field`` unless ``fields`` sets it."""
    now = timezone.now()
    if status in kind.final and kind.finished_field:
        fields.setdefault(kind.finished_field, now)
    with transaction.atomic():
        updated = kind.filter(
            pk=pk, **{kind.status_field: expected or kind.running, kind.token_field: token}
        ).update(**{kind.status_field: status, kind.changed_field: now}, **fields)
        if updated and (expected or kind.running) == kind.running != status:
            claim_release(kind, pk=pk)
        if updated and then is not None:
            then()
    if not updated:
        logger.warning("%s %s was taken over; this delivery's result is dropped", kind.label, pk)
    return bool(updated)


# --- bounded retries ----------------------------------------------------------------------


def attempts_left(kind: JobKind, job: Any) -> int:
    """How many more claims ``job`` may have (a large number when the kind does not count)."""
    if not kind.attempts_field or kind.max_attempts is None:
        return 1 << 30
    return kind.max_attempts() - getattr(job, kind.attempts_field)


def retry_countdown(attempts: int, *, base: float = 2.0, cap: float = 60.0) -> float:
    """Exponential backoff after the ``attempts``-th try: base, 2·base, 4·base... seconds,
    at most ``cap`` (by default 2, 4, 8... seconds, at most a minute)."""
    return float(min(base * 2 ** (max(attempts, 1) - 1), cap))


def job_backoff(kind: JobKind, job: Any) -> float:
    """Seconds before ``job``'s next try, by its kind's backoff and its attempts so far."""
    attempts = getattr(job, kind.attempts_field) if kind.attempts_field else 0
    return (kind.backoff or retry_countdown)(attempts)


def job_requeue(
    kind: JobKind, *, job: Any, token: str, countdown: float | None = None, **fields: Any
) -> bool:
    """Give a running row back to ``queued`` (token cleared) and publish it after commit,
    ``countdown`` seconds later (default: the kind's backoff); a kind with a ``due_field``
    stores that time, so no message claims it earlier. False when this delivery no longer
    holds it."""
    pk = job.pk
    countdown = job_backoff(kind, job) if countdown is None else countdown
    if kind.due_field:
        fields.setdefault(kind.due_field, timezone.now() + timedelta(seconds=countdown))
    return job_transition(
        kind,
        pk=pk,
        token=token,
        status=kind.queued,
        then=lambda: publish_job_after_commit(kind, pk=pk, countdown=countdown),
        **{kind.token_field: ""},
        **fields,
    )


def job_retry_or_fail(
    kind: JobKind,
    *,
    job: Any,
    token: str,
    fail: Callable[[], str],
    **fields: Any,
) -> str:
    """After an internal (not the user's) error: re-queue while attempts are left (saving
    ``fields`` with it, e.g. what the try found), else ``fail()`` (the kind's own failure,
    returning the status). Returns the status reached or ``"superseded"``."""
    if attempts_left(kind, job) > 0:
        requeued = job_requeue(kind, job=job, token=token, **fields)
        return kind.queued if requeued else "superseded"
    return fail()


# --- the stale-job sweep --------------------------------------------------------------------


@dataclass(frozen=True)
class SweepReport:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


STALE = "its row was stale: no change within the sweeper's threshold"
REDELIVERED = "its message was delivered again: the worker that held it was lost"


def jobs_sweep(
    kind: JobKind,
    *,
    stale: Q,
    now: datetime,
    decide: Decide,
    batch: int = SWEEP_BATCH,
    report: SweepReport | None = None,
    reason: str = STALE,
) -> SweepReport:
    """Lock every row matching ``stale`` (re-checked under the lock), then apply the kind's
    ``decide(job, now) -> (outcome, fields)``: :data:`REQUEUED` saves ``fields`` and the
    queued status (token cleared) and publishes the row after commit; :data:`FAILED` ends
    it with ``fields``. A running row taken this way keeps its claim as lost, with
    ``reason``. Appends to ``report`` (a fresh one by default) and returns it."""
    report = report if report is not None else SweepReport()
    pks = list(kind.filter().filter(stale).order_by("pk").values_list("pk", flat=True)[:batch])
    for pk in pks:
        with transaction.atomic():
            job = kind.model._default_manager.select_for_update().filter(stale, pk=pk).first()
            if job is None:
                continue  # finished or claimed meanwhile
            if getattr(job, kind.status_field) == kind.running:
                claim_lost(kind, pk=pk, now=now, reason=reason)
            outcome, fields = decide(job, now)
            if outcome == FAILED:
                _save_final(kind, job, now=now, **fields)
                report.failed.append(pk)
                continue
            update = {
                kind.status_field: kind.queued,
                kind.changed_field: now,
                kind.token_field: "",
                **fields,
            }
            for name, value in update.items():
                setattr(job, name, value)
            job.save(update_fields=list(update))
            publish_job_after_commit(kind, pk=pk, urgent=True)  # it waited once already
            report.requeued.append(pk)
    if report.requeued or report.failed:
        logger.warning(
            "%s sweeper re-queued %s and failed %s", kind.label, report.requeued, report.failed
        )
    return report


# --- taking jobs back from a dead worker ----------------------------------------------------


def _requeue_while_attempts_left(kind: JobKind) -> Decide:
    def decide(job: Any, now: datetime) -> tuple[str, dict[str, Any]]:
        return (REQUEUED, {}) if attempts_left(kind, job) > 0 else (FAILED, {})

    return decide


def jobs_sweep_lost(*, holder: str, reason: str, now: datetime | None = None) -> SweepReport:
    """Take back every job ``holder`` (a dead worker) still runs: each kind's lost-holder
    decision (:func:`~challenge_platform.job_holders.when_holder_lost`) re-queues or fails
    it under the row's lock, and its claim is kept with ``reason``. A claim whose job is no
    longer running under it is dropped. Safe to run twice or concurrently (the rows are
    re-checked under their lock)."""
    now = now or timezone.now()
    report = SweepReport()
    claims = live_claims(holder=holder)
    for key in sorted(set(claims.values_list("kind", flat=True))):
        kind = _KINDS.get(key)
        if kind is None:
            logger.error("no job kind %s is loaded here; the sweeper will take its jobs", key)
            continue
        held = claims.filter(kind=key, object_id=OuterRef("pk"), token=OuterRef(kind.token_field))
        stale = Q(**{kind.status_field: kind.running}) & Q(Exists(held))
        decide = lost_decision(kind) or _requeue_while_attempts_left(kind)
        before = len(report.requeued) + len(report.failed)
        jobs_sweep(kind, stale=stale, now=now, decide=decide, report=report, reason=reason)
        if len(report.requeued) + len(report.failed) > before:
            logger.warning("%s of %s taken back: %s", kind.label, holder, reason)
        still = kind.filter(
            pk=OuterRef("object_id"),
            **{kind.status_field: kind.running, kind.token_field: OuterRef("token")},
        )
        claims.filter(kind=key, claimed_at__lte=now).exclude(Exists(still)).delete()
    return report
