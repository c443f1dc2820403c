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
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from jobs import broker, lifecycle
from jobs.celery import TASK_QUEUES, celery_app
from jobs.liveness import broker_redis
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
    (the broker restarted), not only those queued for half the bound."""
    import redis  # here: the start of a process that never looks imports no broker client

    job_types = registered() if job_types is None else job_types
    now = now or timezone.now()
    older = now - timedelta(seconds=float(settings.JOB_REPUBLISH_SECONDS) / 2)
    try:
        view = broker.broker_view(
            broker_redis(),
            queues={TASK_QUEUES[t.task_name] for t in job_types if t.task_name in TASK_QUEUES},
            pk_kwargs={t.task_name: t.pk_kwarg for t in job_types},
            steps=broker.priority_steps(celery_app().conf.broker_transport_options),
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
        sent = [
            pk
            for pk in _missing(
                job_type, view.of(job_type.task_name), now=now, older=now if fresh else older
            )
            if lifecycle.publish(job_type.task_name, urgent=True, **{job_type.pk_kwarg: pk})
        ]
        if sent:
            published[job_type.task_name] = sent
            logger.warning(
                "%s: published again %s (queued with no message on the broker)",
                job_type.label,
                sent,
            )
    return published


def _missing(
    job_type: JobType, waiting: broker.Waiting, *, now: datetime, older: datetime
) -> list[int]:
    """The rows of ``job_type`` to publish a message for (oldest first)."""
    # Queued, and due, for at least half the bound (a younger row's message may be on its
    # way: published after its commit, or held by a worker until its time).
    # (A row that never recorded its change is as old as can be.)
    rows = lifecycle.due_rows(job_type, now=now).filter(
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
