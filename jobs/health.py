"""Every job that is not final, with the bound it should meet (docs/architecture.md, "The job
lifecycle"): what ``manage.py benchmark_health`` and the console's health page list as the
queued and running jobs.

:func:`jobs_unsettled` reads every registered job type (:mod:`jobs.registry`) and returns one
:class:`UnsettledJob` per queued or running row: its type, kind, state, age, how many times
it was published again without starting (:mod:`jobs.republish`, failed at
``JOB_REPUBLISH_LIMIT``) and the age by which it should have left its state, from the
queue's own run times:

- **queued**: ``JOB_REPUBLISH_SECONDS`` (a lost message is sent again within it) plus, for
  itself and every job of its type ahead of it (running, or queued earlier), the time one
  such job takes (the 90th percentile of the type's last finished jobs, from their start to
  their end; the task's hard time limit while none finished yet), shared by the workers of
  its queue that beat now (at least one);
- **running**: the task's hard time limit (its worker kills it then) plus
  ``WORKER_LOST_AFTER_SECONDS`` (a dead worker's jobs are taken back within it).

A job past its bound, or published again as many times as the limit allows, is ``over``.
The lifecycle knows no app: what a job *is* (a stress run, a reproduction) is its type's
label and its ``kind`` (``JobType.kind_field``, an algorithm run's profile).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from jobs.celery import TASK_QUEUES, TASK_TIME_LIMITS
from jobs.registry import CHANGED, DUE, FINISHED, STARTED, STATUS, JobType, registered
from jobs.republish import republish_limit, republished_counts

# Finished jobs of a type whose durations set its typical run time.
HISTORY = 50
# The bound of a type whose task declares no time limit and that never finished a job.
UNKNOWN_RUN_SECONDS = 3600.0


@dataclass(frozen=True)
class UnsettledJob:
    """One job that is not final, and the bound it should meet."""

    job_type: str  # the type's key: its Celery task ("algorithms.tasks.run_baseline")
    label: str  # the type's label ("baseline run")
    kind: str  # what it is within the type (an algorithm run's profile), else the label
    pk: int
    state: str  # its status: the type's queued or running one
    queue: str  # the broker queue its task is published to
    since: datetime  # when it entered this state (a retry's due time, if later)
    age_seconds: float
    republished: int  # times published again without starting (queued jobs)
    republish_limit: int  # failed when it would be published again once more
    bound_seconds: float  # the age by which it should have left its state
    bound_reason: str  # how the bound was reached, in words
    over: bool  # past its bound, or at its republish limit


def jobs_unsettled(
    *, now: datetime | None = None, job_types: list[JobType] | None = None
) -> list[UnsettledJob]:
    """Every queued or running job of ``job_types`` (default: every registered type), oldest
    state first within each type; see the module for the bounds."""
    now = now or timezone.now()
    consumers = _consumers_by_queue()
    found: list[UnsettledJob] = []
    for job_type in registered() if job_types is None else job_types:
        found += _unsettled(job_type, now=now, consumers=consumers)
    return found


def _unsettled(
    job_type: JobType, *, now: datetime, consumers: dict[str, int]
) -> list[UnsettledJob]:
    fields = ["pk", STATUS, CHANGED, DUE, STARTED]
    if job_type.kind_field:
        fields.append(job_type.kind_field)
    rows = list(
        job_type.filter(**{f"{STATUS}__in": [job_type.queued, job_type.running]})
        .order_by(F(CHANGED).asc(nulls_first=True), "pk")
        .values(*fields)
    )
    if not rows:
        return []
    queued = [row["pk"] for row in rows if row[STATUS] == job_type.queued]
    counts = republished_counts(job_type, pks=queued)
    limit = republish_limit()
    hard = TASK_TIME_LIMITS.get(job_type.task_name)
    typical, typical_why = _typical_seconds(job_type, hard=hard)
    queue = TASK_QUEUES.get(job_type.task_name, "")
    # A queue nobody consumes now: the bound says how long its jobs take once one does.
    workers = max(consumers.get(queue, 0), 1)
    running = len(rows) - len(queued)
    slack = float(settings.JOB_REPUBLISH_SECONDS)
    lost_after = float(settings.WORKER_LOST_AFTER_SECONDS)
    found = []
    ahead = running
    for row in rows:
        since = _since(row, job_type, now=now)
        if row[STATUS] == job_type.queued:
            rounds = math.ceil((ahead + 1) / workers)
            bound = slack + rounds * typical
            why = (
                f"{ahead} ahead of it on {workers} worker(s) of '{queue}': {rounds} x "
                f"{typical:.0f} s ({typical_why}) + {slack:.0f} s to resend a lost message"
            )
            ahead += 1
        else:
            limit_seconds = hard if hard is not None else UNKNOWN_RUN_SECONDS
            bound = limit_seconds + lost_after
            why = (
                f"the task's hard time limit ({limit_seconds:.0f} s) + {lost_after:.0f} s to "
                "see its worker lost"
            )
        age = max((now - since).total_seconds(), 0.0)
        republished = counts.get(row["pk"], 0)
        kind = str(row.get(job_type.kind_field) or "") if job_type.kind_field else ""
        found.append(
            UnsettledJob(
                job_type=job_type.key,
                label=job_type.label,
                kind=kind or job_type.label,
                pk=row["pk"],
                state=row[STATUS],
                queue=queue,
                since=since,
                age_seconds=round(age, 3),
                republished=republished,
                republish_limit=limit,
                bound_seconds=round(bound, 3),
                bound_reason=why,
                over=age > bound or republished >= limit,
            )
        )
    return found


def _since(row: dict, job_type: JobType, *, now: datetime) -> datetime:
    """When the row entered its state: its last change (a retry's due time when later; a
    row that never recorded a change: its claim, else now)."""
    since = row[CHANGED] or row[STARTED] or now
    due = row[DUE]
    if row[STATUS] == job_type.queued and due is not None and due > since:
        since = min(due, now)
    return since


def _typical_seconds(job_type: JobType, *, hard: float | None) -> tuple[float, str]:
    """How long one job of the type takes: the 90th percentile of its last finished jobs'
    durations, with the words that say so; its hard time limit while none finished."""
    recent = (
        job_type.filter(
            **{f"{STATUS}__in": list(job_type.final), f"{STARTED}__isnull": False},
            **{f"{FINISHED}__isnull": False},
        )
        .order_by(f"-{FINISHED}")
        .values_list(STARTED, FINISHED)[:HISTORY]
    )
    durations = [
        max((end - start).total_seconds(), 0.0) for start, end in recent if end >= start
    ]
    if len(durations) >= 2:
        p90 = statistics.quantiles(durations, n=10, method="inclusive")[-1]
        return max(p90, 1.0), f"90th percentile of its last {len(durations)}"
    if durations:
        return max(durations[0], 1.0), "its last one"
    if hard is not None:
        return hard, "none finished yet: its hard time limit"
    return UNKNOWN_RUN_SECONDS, "none finished yet"


def _consumers_by_queue() -> dict[str, int]:
    """How many workers beating now consume each queue (two Redis reads); empty when Redis
    does not answer."""
    import redis

    from jobs.liveness import broker_redis, live_entries

    try:
        entries = live_entries(broker_redis())
    except redis.RedisError:
        return {}
    nodes: dict[str, set[str]] = {}
    for entry in entries.values():
        for queue in entry.get("queues", []):
            nodes.setdefault(queue, set()).add(str(entry.get("node", "")))
    return {queue: len(names) for queue, names in nodes.items()}
