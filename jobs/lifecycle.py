"""One lifecycle for every database-driven job (scoring, algorithm runs, webhook deliveries,
mails): docs/architecture.md, "The job lifecycle".

The row is the truth and the broker only a doorbell. A job type (:mod:`jobs.registry`) is
a model deriving from :class:`jobs.models.Job` plus its Celery task and the statuses that
matter; this module knows no app model, only the registered types.

Public API (stable; extend, don't rename):

- :func:`job_claim` - ``queued -> running`` under ``select_for_update`` with a token naming
  the delivery; ``None`` when there is nothing to do (gone, final, held by another
  delivery, attempts used up, or a redelivery the type refuses to resume).
- :func:`job_claim_next` - claim the *best* queued row of a type (eligibility, an order),
  whichever message asked: the message is a doorbell; :func:`job_held_by` - the row a
  delivery holds (a redelivery finds its own claim).
- :func:`job_locked` - a transaction holding the row's lock *only if* it is still in the
  expected state under ``token`` (yields the row or ``None``).
- :func:`job_transition` - leave the running state (or any ``expected`` one) if this
  delivery still holds the row; runs ``then`` in the same transaction; returns ``bool``.
- :func:`job_requeue` / :func:`job_retry_or_fail` / :func:`attempts_left` /
  :func:`retry_countdown` - bounded retries on named temporary errors, with the type's
  backoff; a ``scheduled`` type's row says when it may run again (``due_at``: the claim
  refuses it before then, and :mod:`jobs.republish` publishes it then if its message was
  lost).
- :func:`jobs.sweeps.jobs_sweep` + :class:`jobs.sweeps.SweepReport` - the stale-job sweep
  (lock each stale row, re-check it, let the type decide ``requeued`` or ``failed``).
- :func:`job_give_up` - fail a queued job with a reason (the type's ``error_field``):
  :mod:`jobs.republish` ends so a job published again ``JOB_REPUBLISH_LIMIT`` times without
  a worker starting it, so that nothing stays queued forever.
- Holders: a claim made in a Celery worker records which worker holds the job
  (:mod:`jobs.holders`, one claims table for every type); leaving the running state
  removes it. :func:`jobs.sweeps.jobs_sweep_lost` takes back every job a dead worker held
  (seen dead by :mod:`jobs.liveness`), each type deciding as for a stale row
  (:func:`jobs.holders.when_holder_lost` registers that decision; by default re-queue while
  attempts are left). A job taken from its holder keeps its claim row with ``lost_at``.
- :func:`publish_after_commit` / :func:`publish` / :func:`publish_job_after_commit` - send
  a registered Celery task **by name** (after commit), so services never import task
  modules; the queue is the one declared with the task's name (its app's ``task_names``);
  an unknown name raises ``LookupError``; a broker failure is logged in one line and counted
  (:mod:`jobs.publish_failures`): the row stays queued and :mod:`jobs.republish` sends it again.
  A job the sweep re-queues (stale, or its worker seen dead) is published ``urgent``.
- :func:`jobs.cancel.job_cancel` / :class:`jobs.cancel.JobAlreadyFinished` - the one cancel.
- :func:`job_give_back` - a stop is not a failure: the job a stopping worker held goes back
  to the queue with its attempt (:mod:`jobs.stopping`); a running job taken back from a
  worker that was stopping (its claim marked so) gets its attempt back too, in the sweeps
  and on a redelivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from jobs.celery import FOLLOW_UP_TASKS, TASK_QUEUES, celery_app
from jobs.changes import ring_after_commit
from jobs.holders import (
    claim_lost,
    claim_record,
    claim_release,
    claim_stopped,
)
from jobs.publish_failures import (
    keep_unsent,
    publish_failed,
    publish_failures,
    sent_again,
    take_unsent,
)
from jobs.redis_rest import call_resting
from jobs.registry import (
    ATTEMPTS,
    CHANGED,
    CLAIM,
    DUE,
    FINISHED,
    STARTED,
    STATUS,
    JobType,
)

logger = logging.getLogger(__name__)

RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}
# After a failed publish this process does not try the broker again for this long
# (jobs.redis_rest): a command that queues many jobs fails at once instead of waiting out
# every retry (the rows are safe, and published again once the broker answers).
BROKER_REST_SECONDS = 5.0
# The broker priority of a re-queued job (see publish): on Redis, 0 is served first.
URGENT_PRIORITY = 0
# The broker priority of a follow-up task (``declare_task(..., follow_up=True)``): behind
# every message at the normal priority (``CELERY_TASK_DEFAULT_PRIORITY``) of a worker's queues.
FOLLOW_UP_PRIORITY = 6
SWEEP_BATCH = 500

REQUEUED = "requeued"
FAILED = "failed"
# Why a running job's claim was lost (kept on the claim row, jobs.holders)
STALE = "its row was stale: no change within the sweeper's threshold"
REDELIVERED = "its message was delivered again: the worker that held it was lost"


# --- publishing ---------------------------------------------------------------------------


def publish(
    *, task_name: str, countdown: float | None = None, urgent: bool = False, **kwargs: Any
) -> bool:
    """Send the Celery task ``task_name`` with ``kwargs`` now; False when the broker refused
    (one line logged, and counted in :mod:`jobs.publish_failures`). A lost message is never
    fatal: the row is in the database, and :mod:`jobs.republish` publishes it again.

    The task is sent by name, to the queue declared with that name
    (:func:`jobs.celery.declare_task`, in its app's ``task_names``, which a publisher
    imports for the name): the task's module is not imported (only workers import it), and
    an unknown name is a programming error: ``LookupError``.

    Every message goes at the broker's normal priority (``CELERY_TASK_DEFAULT_PRIORITY``);
    an ``urgent`` one (a job taken back from a dead worker or a stale row: it waited once
    already) at :data:`URGENT_PRIORITY`, which every worker takes before any normal message
    of its queues (kombu's Redis transport keeps a list per priority step and pops the
    lowest number first). A follow-up task (what a job sets off and nobody waits on:
    :data:`jobs.celery.FOLLOW_UP_TASKS`) goes at :data:`FOLLOW_UP_PRIORITY`, behind every
    normal one: in a rush a score does not queue behind the champion's checks and the mails
    of the scores before it (docs/decisions/0062-a-score-goes-ahead-of-its-follow-ups.md).
    """
    if task_name not in TASK_QUEUES:
        raise LookupError(f"no Celery task named {task_name!r} is declared (declare_task)")
    try:
        _send(task_name, countdown, urgent, kwargs)
    except Exception as exc:  # whatever the transport raised: the row stays queued
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        publish_failed(reason=reason, unsent=(task_name, countdown, urgent, kwargs))
        (logger.debug if publish_failures().reported_at_exit else logger.warning)(
            "could not publish %s(%s) (%s); it stays queued and is published again once the "
            "broker answers",
            task_name,
            kwargs,
            reason,
        )
        return False
    if publish_failures().unsent:
        _send_unsent()
    return True


def _send(task_name: str, countdown: float | None, urgent: bool, kwargs: dict[str, Any]) -> None:
    """Send one message (see :func:`publish`); raise what the transport raised."""
    app = celery_app()  # made on the first publish (Celery, kombu, the broker's client)
    # Not tried while the broker's Redis rests (a publish failed, or another call of this
    # process waited out its timeout, a moment ago: jobs.redis_rest): a command that
    # queues many jobs fails at once, and an upload is not held by a broker away.
    call_resting(
        address=app.conf.broker_url,
        call=lambda: app.send_task(
            task_name,
            kwargs=kwargs,
            countdown=countdown,
            queue=TASK_QUEUES[task_name],
            priority=_priority(task_name, urgent, app.conf.task_default_priority),
            retry_policy=RETRY_POLICY,
        ),
        rest_after_failure=BROKER_REST_SECONDS,
    )


def _send_unsent() -> None:
    """The broker answers again: send this process's failed publishes now
    (:mod:`jobs.publish_failures`), oldest first, until one fails (it and the rest are kept)."""
    unsent = take_unsent()
    for index, (task_name, countdown, urgent, kwargs) in enumerate(unsent):
        try:
            _send(task_name, countdown, urgent, kwargs)
        except Exception:
            keep_unsent(unsent=unsent[index:])
            sent_again(count=index)
            return
    sent_again(count=len(unsent))
    logger.info("%d job(s) whose publish had failed published now", len(unsent))


def _priority(task_name: str, urgent: bool, normal: int) -> int:
    """The broker priority of a message of ``task_name`` (see :func:`publish`)."""
    if urgent:
        return URGENT_PRIORITY
    return FOLLOW_UP_PRIORITY if task_name in FOLLOW_UP_TASKS else normal


def publish_after_commit(
    *, task_name: str, countdown: float | None = None, urgent: bool = False, **kwargs: Any
) -> None:
    """Publish ``task_name(**kwargs)`` once the current transaction commits (at once outside
    one); nothing is sent if it rolls back."""
    transaction.on_commit(
        lambda: publish(task_name=task_name, countdown=countdown, urgent=urgent, **kwargs)
    )


def publish_job_after_commit(
    *, job_type: JobType, pk: int, countdown: float | None = None, urgent: bool = False
) -> None:
    """Ring ``job_type``'s doorbell for row ``pk`` after commit (``urgent``: ahead of the
    queue)."""
    publish_after_commit(
        task_name=job_type.task_name, countdown=countdown, urgent=urgent, **{job_type.pk_kwarg: pk}
    )


# --- claim and transitions ------------------------------------------------------------------


def job_claim(
    *,
    job_type: JobType,
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
    task id after a worker died or a retry): with ``on_redelivery`` the type ends it, the
    callback returning the final fields (``None`` to resume instead); without, the delivery
    takes it back. A row running under another token belongs to another delivery.
    When its attempts are used up, the row fails with the fields of ``exhausted`` instead.
    ``fields`` adds type-specific fields to the claim.
    """
    now = timezone.now()
    label = job_type.label
    with transaction.atomic():
        job = _lockable(job_type.model._default_manager.filter(pk=pk), select_related).first()
        if job is None:
            logger.warning("%s %s no longer exists", label, pk)
            return None
        status = getattr(job, STATUS)
        if status in job_type.final:
            logger.info("%s %s is already %s", label, pk, status)
            return None
        if status == job_type.running:
            redelivered = bool(delivery_id) and getattr(job, CLAIM) == delivery_id
            if not redelivered:
                logger.info("%s %s is held by another delivery", label, pk)
                return None
            reason = REDELIVERED
            if _give_attempt_back_if_stopped(job_type, job):
                reason = f"{REDELIVERED} ({STOPPED})"
            claim_lost(job_type=job_type, pk=pk, now=now, reason=reason)
            if on_redelivery is not None:
                final = on_redelivery(job, now)
                if final is not None:
                    _save_final(job_type, job, now=now, **final)
                    return None
        elif status != job_type.queued:
            logger.info("%s %s is %s, not %s", label, pk, status, job_type.queued)
            return None
        elif not _due(job, now):
            logger.info("%s %s is not due yet", label, pk)
            return None
        if not _take(job_type, job, now=now, token=token, exhausted=exhausted, fields=fields):
            return None
    return job


def _lockable(rows: models.QuerySet, select_related: Sequence[str]) -> models.QuerySet:
    """``rows`` to lock for a claim, with their ``select_related`` read in the same query
    (the claimed row is returned as locked and updated: no second read after the claim,
    one round trip less per job). Only the job's own row is locked, never the related ones
    (``of``: a scoring must not lock its task against the task's other scorings)."""
    return rows.select_related(*select_related).select_for_update(of=("self",))


def _take(
    job_type: JobType,
    job: Any,
    *,
    now: datetime,
    token: str,
    exhausted: Callable[[Any, datetime], dict[str, Any]] | None,
    fields: Callable[[Any, datetime], dict[str, Any]] | None,
) -> bool:
    """Inside a transaction holding ``job``'s lock: move it to running under ``token`` (one
    more attempt, the type's ``fields``, this worker recorded as its holder), or fail it
    when its attempts are used up (False)."""
    if attempts_left(job_type=job_type, job=job) <= 0:
        logger.error("%s %s used all its attempts", job_type.label, job.pk)
        _save_final(job_type, job, now=now, **(exhausted(job, now) if exhausted else {}))
        return False
    update = {
        STATUS: job_type.running,
        CHANGED: now,
        CLAIM: token,
        STARTED: now,
        FINISHED: None,
        ATTEMPTS: getattr(job, ATTEMPTS) + 1,
    }
    update.update(fields(job, now) if fields else {})
    for name, value in update.items():
        setattr(job, name, value)
    job.save(update_fields=list(update))
    claim_record(job_type=job_type, pk=job.pk, token=token, now=now)
    ring_after_commit(model=job_type.model, pk=job.pk)
    return True


def job_held_by(*, job_type: JobType, token: str) -> int | None:
    """The pk of the row ``running`` under ``token`` (a delivery's own claim), if any."""
    if not token:
        return None
    return (
        job_type.filter(**{STATUS: job_type.running, CLAIM: token})
        .values_list("pk", flat=True)
        .first()
    )


def job_claim_next(
    *, job_type: JobType,
    token: str,
    eligible: Q | Callable[[], Q] | None = None,
    annotate: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
    order: Sequence[Any] = ("pk",),
    exhausted: Callable[[Any, datetime], dict[str, Any]] | None = None,
    fields: Callable[[Any, datetime], dict[str, Any]] | None = None,
    select_related: Sequence[str] = (),
    tries: int = 20,
) -> Any | None:
    """Claim the *best* queued row of ``job_type`` now, whichever message asked: the
    message is a doorbell, the database decides what runs next.

    The candidates are the type's queued, due rows (:func:`due_rows`) matching ``eligible``
    (a ``Q``, or a callable returning one, asked at claim time: e.g. a budget that closes a
    class of jobs), with ``annotate`` added (or what it returns, a callable asked only for
    two candidates or more) and sorted by ``order`` (e.g. a priority class, a share, then
    age; with one candidate, nothing is computed). The first one is locked
    with ``select_for_update(skip_locked=True)`` where the database has it (PostgreSQL: two
    workers never wait for, or take, the same row; SQLite serializes writers) and re-checked
    under the lock, then claimed as :func:`job_claim` claims (a token, one more attempt,
    ``fields``; a row whose attempts are used up fails with ``exhausted`` and the next one
    is tried). Returns the fresh row
    (``select_related`` applied) or ``None`` when nothing is queued (a duplicate or stale
    doorbell then does nothing).
    """
    condition = eligible() if callable(eligible) else eligible
    for _ in range(max(tries, 1)):
        now = timezone.now()
        candidates = due_rows(job_type=job_type, now=now)
        if condition is not None:
            candidates = candidates.filter(condition)
        # Fewer than two candidates (a doorbell on a quiet queue, a stale one): no order to
        # compute, the one there is the best (record 0065).
        few = list(candidates.order_by().values_list("pk", flat=True)[:2])
        if not few:
            return None
        if len(few) == 1:
            rows = job_type.model._default_manager.filter(pk=few[0])
        else:
            extra = annotate() if callable(annotate) else annotate
            rows = (candidates.annotate(**extra) if extra else candidates).order_by(*order)
        with transaction.atomic():
            job = (
                _lockable(rows, select_related)
                .select_for_update(skip_locked=True, of=("self",))
                .first()
            )
            if job is None:  # (the one candidate: another worker's claim holds it)
                return None
            if getattr(job, STATUS) != job_type.queued:
                continue  # claimed between the read and the lock (no skip_locked here)
            taken = _take(job_type, job, now=now, token=token, exhausted=exhausted, fields=fields)
        if taken:
            return job
    return None


# A message may arrive a little before its row's time (clocks of different hosts).
DUE_SLACK = timedelta(seconds=1)


def due_rows(*, job_type: JobType, now: datetime) -> models.QuerySet:
    """The queued rows of ``job_type`` that may be claimed at ``now`` (no ``due_at``, or
    one within :data:`DUE_SLACK`)."""
    return job_type.filter(**{STATUS: job_type.queued}).filter(
        Q(**{f"{DUE}__isnull": True}) | Q(**{f"{DUE}__lte": now + DUE_SLACK})
    )


def _due(job: Any, now: datetime) -> bool:
    due = getattr(job, DUE)
    return due is None or due <= now + DUE_SLACK


def job_give_up(*, job_type: JobType, pk: int, reason: str, now: datetime) -> bool:
    """Fail the queued row ``pk`` with ``reason`` (in the type's ``error_field``, cut to
    its length) under its lock, if it is still queued; the lifecycle's own end for a job no
    worker starts (:mod:`jobs.republish`). False when it was claimed or ended meanwhile."""
    field_name = job_type.error_field
    size = getattr(job_type.model._meta.get_field(field_name), "max_length", None)
    with transaction.atomic():
        job = (
            job_type.model._default_manager.select_for_update()
            .filter(pk=pk, **{STATUS: job_type.queued})
            .first()
        )
        if job is None:
            return False
        _save_final(job_type, job, now=now, **{field_name: reason[: size or len(reason)]})
    logger.error("%s %s failed: %s", job_type.label, pk, reason)
    return True


def _save_final(job_type: JobType, job: Any, *, now: datetime, **fields: Any) -> None:
    """Inside a transaction holding ``job``'s lock: end it (``failed`` by default)."""
    update = {STATUS: job_type.failed, CHANGED: now, CLAIM: "", FINISHED: now, **fields}
    for name, value in update.items():
        setattr(job, name, value)
    job.save(update_fields=list(update))
    ring_after_commit(model=job_type.model, pk=job.pk)


@contextmanager
def job_locked(
    *, job_type: JobType, pk: int, token: str, expected: str | None = None
) -> Iterator[Any | None]:
    """A transaction holding row ``pk``'s lock if it is still ``expected`` (default: running)
    under ``token``; yields the row, or ``None`` when this delivery lost it."""
    with transaction.atomic():
        yield (
            job_type.model._default_manager.select_for_update()
            .filter(pk=pk, **{STATUS: expected or job_type.running, CLAIM: token})
            .first()
        )


def job_transition(
    *,
    job_type: JobType,
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
    A final status stamps ``finished_at`` unless ``fields`` sets it."""
    now = timezone.now()
    if status in job_type.final:
        fields.setdefault(FINISHED, now)
    with transaction.atomic():
        updated = job_type.filter(
            pk=pk, **{STATUS: expected or job_type.running, CLAIM: token}
        ).update(**{STATUS: status, CHANGED: now}, **fields)
        if updated and (expected or job_type.running) == job_type.running != status:
            claim_release(job_type=job_type, pk=pk)
        if updated:
            # First of the after-commit work: a client waiting for this status hears of it
            # at once, not after what ``then`` publishes (the board's render, the intervals,
            # the champion's check, the mail: a quarter of a second on a loaded host).
            ring_after_commit(model=job_type.model, pk=pk)
        if updated and then is not None:
            then()
    if not updated:
        logger.warning(
            "%s %s was taken over; this delivery's result is dropped", job_type.label, pk
        )
    return bool(updated)


# --- a stop is not a failure (jobs.stopping) ---------------------------------------------------

STOPPED = "its worker was stopping, not crashed: the attempt is given back"


def _give_attempt_back_if_stopped(job_type: JobType, job: Any) -> bool:
    """Inside the transaction holding ``job``'s lock, before its claim is marked lost: when
    the worker holding it was asked to stop (:func:`jobs.holders.claim_stopped`), the claim
    that stop cut short does not count (``job``'s attempts, in memory, one fewer; the
    caller saves them). True when so."""
    if not claim_stopped(job_type=job_type, pk=job.pk):
        return False
    setattr(job, ATTEMPTS, max(getattr(job, ATTEMPTS) - 1, 0))
    return True


def job_give_back(*, job_type: JobType, pk: int, token: str, **fields: Any) -> bool:
    """The worker holding row ``pk`` under ``token`` is stopping (the platform's own stop:
    :mod:`jobs.stopping`): the row goes back to ``queued`` with the attempt this claim used,
    its token cleared and ``fields`` saved, and is published again after commit, ahead of the
    queue (it waited once already). Not a retry and not a failure: the next start runs it.
    False when this delivery no longer holds it."""
    given = job_transition(
        job_type=job_type,
        pk=pk,
        token=token,
        status=job_type.queued,
        then=lambda: publish_job_after_commit(job_type=job_type, pk=pk, urgent=True),
        **{CLAIM: "", ATTEMPTS: Greatest(F(ATTEMPTS) - 1, Value(0)), FINISHED: None},
        **fields,
    )
    if given:
        logger.warning("%s %s given back to the queue: its worker is stopping", job_type.label, pk)
    return given


# --- bounded retries ----------------------------------------------------------------------


def attempts_left(*, job_type: JobType, job: Any) -> int:
    """How many more claims ``job`` may have (a large number when the type does not count)."""
    if job_type.max_attempts is None:
        return 1 << 30
    return job_type.max_attempts(job) - getattr(job, ATTEMPTS)


def retry_countdown(attempts: int, *, base: float = 2.0, cap: float = 60.0) -> float:
    """Exponential backoff after the ``attempts``-th try: base, 2·base, 4·base... seconds,
    at most ``cap`` (by default 2, 4, 8... seconds, at most a minute)."""
    return float(min(base * 2 ** (max(attempts, 1) - 1), cap))


def job_backoff(*, job_type: JobType, job: Any) -> float:
    """Seconds before ``job``'s next try, by its type's backoff and its attempts so far."""
    return (job_type.backoff or retry_countdown)(getattr(job, ATTEMPTS))


def job_requeue(
    *, job_type: JobType, job: Any, token: str, countdown: float | None = None, **fields: Any
) -> bool:
    """Give a running row back to ``queued`` (token cleared) and publish it after commit,
    ``countdown`` seconds later (default: the type's backoff); a ``scheduled`` type stores
    that time as the row's ``due_at``, so no message claims it earlier. False when this
    delivery no longer holds it."""
    pk = job.pk
    countdown = job_backoff(job_type=job_type, job=job) if countdown is None else countdown
    if job_type.scheduled:
        fields.setdefault(DUE, timezone.now() + timedelta(seconds=countdown))
    return job_transition(
        job_type=job_type,
        pk=pk,
        token=token,
        status=job_type.queued,
        then=lambda: publish_job_after_commit(job_type=job_type, pk=pk, countdown=countdown),
        **{CLAIM: ""},
        **fields,
    )


def job_retry_or_fail(
    *,
    job_type: JobType,
    job: Any,
    token: str,
    fail: Callable[[], str],
    **fields: Any,
) -> str:
    """After an internal (not the user's) error: re-queue while attempts are left (saving
    ``fields`` with it, e.g. what the try found), else ``fail()`` (the type's own failure,
    returning the status). Returns the status reached or ``"superseded"``."""
    if attempts_left(job_type=job_type, job=job) > 0:
        requeued = job_requeue(job_type=job_type, job=job, token=token, **fields)
        return job_type.queued if requeued else "superseded"
    return fail()
