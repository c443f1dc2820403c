"""No job stays queued while a worker of its queue idles: every message a job lost is sent
again (docs/architecture.md, "Lost messages").

A job is a row first and a message second; the message can be lost between the commit and
the publish (the broker down, restarted with an empty dataset, a process that could not
reach it, a worker killed with the message in its memory). :func:`jobs_republish` (the
beat, every ``JOB_REPUBLISH_SECONDS / 2``) compares the rows with what the broker holds
(:mod:`jobs.broker`) and publishes what is missing:

- a job type whose message names its row (a scoring, a webhook delivery, a mail): each row
  queued (and due) for at least half the bound with no message naming it gets one;
- a doorbell type (algorithm runs: a message claims the best queued row, whichever it
  names): as many messages as its claimable rows outnumber the messages waiting for them
  (a message a worker holds for a row it runs waits for nothing).

So a lost message is sent again within ``JOB_REPUBLISH_SECONDS`` (60 s by default). A message
published twice does no harm: the claim takes a row once (:mod:`jobs.lifecycle`). When a worker
sees the broker restart (:mod:`jobs.liveness`) it calls :func:`jobs_republish` with ``fresh``:
every queued row with no message is published then, however young (its message may have been
lost with the broker), so nothing waits for the bound.

**A bound on trying.** Each publication again is counted per job (``JobRepublished``, from the
job's last change of state). A job published again ``JOB_REPUBLISH_LIMIT`` times (10 by
default: a few minutes at the default bound) that no worker started is not sent once
more: it is failed with that reason in words (:func:`jobs.lifecycle.job_give_up`). A message
that is merely lost is sent again once and then waits in its queue, so only a job that the
workers taking its messages keep finding not theirs to run gets there (issue 50: a
reproduction every worker refused was published every 30 s for ever). A ``fresh`` publication
is not counted: the broker lost the message, no worker refused it, and a long run of broker
faults must not fail a job that merely waited its turn. The count is shown with each job that
is not final (:mod:`jobs.health`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q, Subquery
from django.utils import timezone

from jobs import broker, lifecycle
from jobs.celery import TASK_QUEUES, celery_app
from jobs.liveness import broker_redis
from jobs.models import JobRepublished
from jobs.registry import CHANGED, CLAIM, DUE, STATUS, JobType, registered

logger = logging.getLogger(__name__)

AT_MOST = 500  # messages one call publishes per job type


def republish_every() -> float:
    """Seconds between two looks of the beat (half the bound: a message lost just after a
    look is sent again by the second look after it), at least one."""
    return max(float(settings.JOB_REPUBLISH_SECONDS) / 2, 1.0)


def jobs_republish(
    *, job_types: list[JobType] | None = None, now: datetime | None = None, fresh: bool = False
) -> dict[str, list[int]]:
    """Publish again the messages the queued rows of ``job_types`` (default: every registered
    type) lost; ``{task name: [row pks published for]}`` (types with none left out). Nothing
    when the broker cannot be read (the next look tries again). ``fresh``: rows of any age
    (the broker restarted), not only those queued for half the bound, and not counted
    towards ``JOB_REPUBLISH_LIMIT``."""
    import redis  # here: the start of a process that never looks imports no broker client

    job_types = registered() if job_types is None else job_types
    now = now or timezone.now()
    older = now - timedelta(seconds=float(settings.JOB_REPUBLISH_SECONDS) / 2)
    try:
        view = broker.broker_view(
            client=broker_redis(),
            queues={TASK_QUEUES[t.task_name] for t in job_types if t.task_name in TASK_QUEUES},
            pk_kwargs={t.task_name: t.pk_kwarg for t in job_types},
            steps=broker.priority_steps(transport_options=celery_app().conf.broker_transport_options),
            # A message a worker took this long ago for a row still queued was never started:
            # its worker died with it prefetched (or is busy for long with another job). Sent
            # again: a duplicate does nothing (the claim), a lost one would wait for kombu's
            # visibility timeout.
            held_since=older.timestamp(),
        )
    except redis.RedisError as exc:
        logger.warning("cannot read the broker to find lost messages: %s", exc)
        return {}
    if not view.complete:
        return {}
    published: dict[str, list[int]] = {}
    for job_type in job_types:
        missing = _missing(
            job_type, view.of(job_type.task_name), now=now, older=now if fresh else older
        )
        counts = republished_counts(job_type=job_type, pks=missing)
        limit = republish_limit()
        sent: list[int] = []
        for pk in missing:
            if counts.get(pk, 0) >= limit:
                _give_up(job_type, pk=pk, count=counts[pk], now=now)
            elif lifecycle.publish(
                task_name=job_type.task_name, urgent=True, **{job_type.pk_kwarg: pk}
            ):
                sent.append(pk)
        if not fresh:
            _count(job_type, pks=sent, now=now)
        _forget_settled(job_type)
        if sent:
            published[job_type.task_name] = sent
            logger.warning(
                "%s: published again %s (queued with no message on the broker)",
                job_type.label,
                sent,
            )
    return published


def republish_limit() -> int:
    """How many times a queued job is published again before it is failed (at least 1)."""
    return max(int(settings.JOB_REPUBLISH_LIMIT), 1)


def _counts(job_type: JobType):
    return JobRepublished.objects.filter(job_type=job_type.key)


def republished_counts(*, job_type: JobType, pks: list[int]) -> dict[int, int]:
    """Row pk -> times published again since it last changed state (a count older than
    the row's last change is stale: not returned). One query for the counts, one for the
    rows' changes."""
    if not pks:
        return {}
    found = {c.object_id: c for c in _counts(job_type).filter(object_id__in=pks)}
    if not found:
        return {}
    changed = dict(job_type.filter(pk__in=list(found)).values_list("pk", CHANGED))
    return {
        pk: count.count
        for pk, count in found.items()
        if changed.get(pk) is None or changed[pk] <= count.first_at
    }


def _count(job_type: JobType, *, pks: list[int], now: datetime) -> None:
    """One more publication again of each of ``pks`` (a stale count starts again)."""
    if not pks:
        return
    fresh = republished_counts(job_type=job_type, pks=pks)
    stale = [pk for pk in pks if pk not in fresh]
    _counts(job_type).filter(object_id__in=stale).delete()
    JobRepublished.objects.bulk_create(
        [
            JobRepublished(job_type=job_type.key, object_id=pk, count=1, first_at=now, last_at=now)
            for pk in stale
        ]
    )
    again = [pk for pk in pks if pk in fresh]
    if again:
        _counts(job_type).filter(object_id__in=again).update(count=F("count") + 1, last_at=now)


def _forget_settled(job_type: JobType) -> None:
    """Drop the counts of rows no longer queued (started, ended, or deleted)."""
    queued = job_type.filter(**{STATUS: job_type.queued}).values("pk")
    _counts(job_type).exclude(object_id__in=Subquery(queued)).delete()


def _give_up(job_type: JobType, *, pk: int, count: int, now: datetime) -> None:
    queue = TASK_QUEUES.get(job_type.task_name, "?")
    every = republish_every()
    reason = (
        f"No worker started this {job_type.label}: it was published again {count} times "
        f"(every {every:.0f} s; JOB_REPUBLISH_LIMIT is {republish_limit()}) and each worker of "
        f"the '{queue}' queue that took its message found nothing it may run (or the message "
        "was lost again each time). It was failed rather than left queued for ever; queue it "
        "again once the cause is fixed."
    )
    if lifecycle.job_give_up(job_type=job_type, pk=pk, reason=reason, now=now):
        _counts(job_type).filter(object_id=pk).delete()


def _missing(
    job_type: JobType, waiting: broker.Waiting, *, now: datetime, older: datetime
) -> list[int]:
    """The rows of ``job_type`` to publish a message for (oldest first)."""
    # Queued, and due, for at least half the bound (a younger row's message may be on its
    # way: published after its commit, or held by a worker until its time).
    # (A row that never recorded its change is as old as can be.)
    rows = lifecycle.due_rows(job_type=job_type, now=now).filter(
        Q(**{f"{CHANGED}__lte": older}) | Q(**{f"{CHANGED}__isnull": True}),
        Q(**{f"{DUE}__isnull": True}) | Q(**{f"{DUE}__lte": older}),
    )
    if job_type.claimable is not None:
        rows = rows.filter(job_type.claimable())
    rows = rows.order_by(CHANGED, "pk")
    if not job_type.doorbell:
        candidates = rows.exclude(pk__in=waiting.pks) if waiting.pks else rows
        return list(candidates.values_list("pk", flat=True)[:AT_MOST])
    # A doorbell claims whichever row is best: count the messages that still wait for a row
    # (in a queue, or held by a worker that runs nothing with them yet).
    running = job_type.filter(**{STATUS: job_type.running, f"{CLAIM}__in": list(waiting.unacked)})
    holding = set(running.values_list(CLAIM, flat=True)) if waiting.unacked else set()
    free = waiting.queued + sum(
        1
        for message in waiting.unacked
        if message not in holding and message not in waiting.held_long
    )
    needed = min(rows.count() - free, AT_MOST)
    if needed <= 0:
        return []
    pks = list(rows.values_list("pk", flat=True)[: needed + len(waiting.pks)])
    # Name the rows no message names first (what a reader of the queue expects to see).
    return sorted(pks, key=lambda pk: pk in waiting.pks)[:needed]
