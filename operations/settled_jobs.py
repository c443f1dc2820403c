"""Every job that is not final, with the bound it should meet: the queued and running jobs of
``manage.py benchmark_health`` and the console's health page (docs/architecture.md,
"Settled").

**Interim.** The job lifecycle's own selector (``jobs.health.jobs_unsettled``, issue 50) lists
the same rows with the same fields and the republish count the lifecycle keeps; until it is
in this tree, :func:`jobs_unsettled` here reads the lifecycle's registry of job types the same
way (no republish count: 0). :mod:`operations.settled` takes whichever is present, so this
module is deleted, and nothing else changes, once the lifecycle's lands.

The bounds, from each queue's own run times:

- **queued**: ``JOB_REPUBLISH_SECONDS`` (a lost message is sent again within it) plus, for
  itself and every job of its type ahead of it (running, or queued earlier), the time one
  such job takes (the 90th percentile of the type's last finished jobs, from their start to
  their end; the task's hard time limit while none finished yet), plus the time the jobs of
  its type that finished since it was queued ran meanwhile (they were ahead of it then), all
  shared by the workers of its queue that beat now (at least one). The bound is anchored at
  the time it was queued: the work it waited behind stays counted once done, so a job that
  waited its turn behind a backlog is not "over" the moment the backlog clears, and a job
  whose queue stopped moving is over once the work ahead could have been done;
- **running**: the task's hard time limit (its worker kills it then) plus
  ``WORKER_LOST_AFTER_SECONDS`` (a dead worker's jobs are taken back within it).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import F, QuerySet
from django.utils import timezone

from algorithms.models import AlgorithmRun
from algorithms.services.profiles import profiles_served_by
from jobs.celery import TASK_QUEUES, celery_app
from jobs.registry import CHANGED, DUE, FINISHED, STARTED, STATUS, JobType, registered

HISTORY = 50  # finished jobs of a type whose durations set its typical run time
UNKNOWN_RUN_SECONDS = 3600.0  # no time limit declared and nothing finished yet


@dataclass(frozen=True)
class UnsettledJob:
    """One job that is not final, and the bound it should meet (``jobs.health``'s shape)."""

    job_type: str  # the type's key: its Celery task ("algorithms.tasks.run_baseline")
    label: str  # the type's label ("baseline run")
    kind: str  # what it is within the type (an algorithm run's profile), else the label
    pk: int
    state: str  # its status: the type's queued or running one
    queue: str  # the broker queue its task is published to
    since: datetime  # when it entered this state (a retry's due time, if later)
    age_seconds: float
    republished: int  # times published again without starting (not counted here: 0)
    republish_limit: int
    bound_seconds: float  # the age by which it should have left its state
    bound_reason: str  # how the bound was reached, in words
    over: bool  # past its bound


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


def _hard_limit(job_type: JobType) -> float | None:
    limit = getattr(celery_app().tasks.get(job_type.task_name), "time_limit", None)
    return float(limit) if limit else None


def _own(job_type: JobType, **lookups: object) -> QuerySet:
    """The type's own rows matching ``lookups``: the algorithm runs' types share one model,
    each serving the profiles whose task it is (a baseline run is not an algorithms-queue
    job)."""
    rows = job_type.filter(**lookups)
    if job_type.model is AlgorithmRun:
        served = profiles_served_by(task_name=job_type.task_name)
        rows = rows.filter(profile__in=[profile.name for profile in served])
    return rows


def _kind_field(job_type: JobType) -> str | None:
    names = {f.name for f in job_type.model._meta.get_fields()}
    return "profile" if "profile" in names else None


def _unsettled(
    job_type: JobType, *, now: datetime, consumers: dict[str, int]
) -> list[UnsettledJob]:
    kind_field = _kind_field(job_type)
    fields = ["pk", STATUS, CHANGED, DUE, STARTED, *([kind_field] if kind_field else [])]
    rows = list(
        _own(job_type, **{f"{STATUS}__in": [job_type.queued, job_type.running]})
        .order_by(F(CHANGED).asc(nulls_first=True), "pk")
        .values(*fields)
    )
    if not rows:
        return []
    hard = _hard_limit(job_type)
    typical, typical_why = _typical_seconds(job_type, hard=hard)
    queue = TASK_QUEUES.get(job_type.task_name, "")
    workers = max(consumers.get(queue, 0), 1)
    slack = float(settings.JOB_REPUBLISH_SECONDS)
    lost_after = float(settings.WORKER_LOST_AFTER_SECONDS)
    ahead = sum(1 for row in rows if row[STATUS] == job_type.running)
    queued_since = [_since(r, job_type, now=now) for r in rows if r[STATUS] == job_type.queued]
    ran = _ran_since(job_type, min(queued_since)) if queued_since else []
    found = []
    for row in rows:
        since = _since(row, job_type, now=now)
        if row[STATUS] == job_type.queued:
            rounds = math.ceil((ahead + 1) / workers)
            waited = sum(
                (end - max(start, since)).total_seconds() for start, end in ran if end > since
            )
            bound = slack + rounds * typical + waited / workers
            why = (
                f"{ahead} ahead of it on {workers} worker(s) of '{queue}': {rounds} x "
                f"{typical:.0f} s ({typical_why}) + {waited / workers:.0f} s the jobs done "
                f"since it was queued ran + {slack:.0f} s to resend a lost message"
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
        kind = str(row.get(kind_field) or "") if kind_field else ""
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
                republished=0,
                republish_limit=0,
                bound_seconds=round(bound, 3),
                bound_reason=why,
                over=age > bound,
            )
        )
    return found


def _ran_since(job_type: JobType, since: datetime) -> list[tuple[datetime, datetime]]:
    """(start, end) of the type's jobs that finished after ``since``."""
    return [
        (start or end, end)
        for start, end in _own(job_type, **{f"{FINISHED}__gt": since}).values_list(
            STARTED, FINISHED
        )
    ]


def _since(row: dict, job_type: JobType, *, now: datetime) -> datetime:
    """When the row entered its state: its last change (a retry's due time when later)."""
    since = row[CHANGED] or row[STARTED] or now
    due = row[DUE]
    if row[STATUS] == job_type.queued and due is not None and due > since:
        since = min(due, now)
    return since


def _typical_seconds(job_type: JobType, *, hard: float | None) -> tuple[float, str]:
    """How long one job of the type takes: the 90th percentile of its last finished jobs'
    durations, with the words that say so; its hard time limit while none finished."""
    recent = (
        _own(
            job_type,
            **{f"{STATUS}__in": list(job_type.final), f"{STARTED}__isnull": False},
            **{f"{FINISHED}__isnull": False},
        )
        .order_by(f"-{FINISHED}")
        .values_list(STARTED, FINISHED)[:HISTORY]
    )
    durations = [max((end - start).total_seconds(), 0.0) for start, end in recent if end >= start]
    if len(durations) >= 2:
        p90 = statistics.quantiles(durations, n=10, method="inclusive")[-1]
        return max(p90, 1.0), f"90th percentile of its last {len(durations)}"
    if durations:
        return max(durations[0], 1.0), "its last one"
    if hard is not None:
        return hard, "none finished yet: its hard time limit"
    return UNKNOWN_RUN_SECONDS, "none finished yet"


def _consumers_by_queue() -> dict[str, int]:
    """How many workers beating now consume each queue; empty when Redis does not answer."""
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
