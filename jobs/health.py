"""Every job that is not final, with the bound it should meet (docs/architecture.md, "The job
lifecycle"): what ``manage.py benchmark_health`` and the console's health page list as the
queued and running jobs.

:func:`jobs_unsettled` reads every registered job type (:mod:`jobs.registry`) and returns one
:class:`UnsettledJob` per queued or running row: its type, kind, state, age, how many times
it was published again without starting (:mod:`jobs.republish`, failed at
``JOB_REPUBLISH_LIMIT``) and the age by which it should have left its state, from the
queue's own run times:

- **queued**: from when it was queued, the time its queue has been full since (every
  worker of its queue that beats now, at least one, busy with a job of its type: finished
  or running now), plus ``JOB_REPUBLISH_SECONDS`` (a lost message is sent again within it),
  plus, for itself and every job of its type ahead of it (running, or before it in the
  order claims take them: ``JobType.claim_order``, e.g. the runs' priority classes), the
  time one such job takes (the 90th percentile of the type's last 50 finished jobs, from
  their start to their end; the task's hard time limit while none finished yet), shared by
  those workers. A job waiting behind a long backlog, or behind one long run, is so never
  "over" while its queue is full; it is once a worker could have taken it and none did for
  longer than its own share;
- **held** (queued, but no worker may take it now: ``JobType.claimable``, e.g. a spent
  compute budget): no bound, ``held`` says so;
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

from jobs.celery import TASK_QUEUES, TASK_TIME_LIMITS, task_modules_loaded
from jobs.liveness import broker_redis, live_entries
from jobs.registry import CHANGED, DUE, FINISHED, STARTED, STATUS, JobType, registered
from jobs.republish import republish_limit, republished_counts

# Finished jobs of a type whose durations set its typical run time.
HISTORY = 50
# The bound of a type whose task declares no time limit and that never finished a job.
UNKNOWN_RUN_SECONDS = 3600.0
HELD = "held back: no worker may take it now (its type's rule, e.g. a spent compute budget)"


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
    held: bool  # queued, but no worker may take it now (e.g. the day's budget is spent)
    bound_seconds: float | None  # the age by which it should have left its state; None: held
    bound_reason: str  # how the bound was reached, in words
    over: bool  # past its bound, or at its republish limit


def jobs_unsettled(
    *, now: datetime | None = None, job_types: list[JobType] | None = None
) -> list[UnsettledJob]:
    """Every queued or running job of ``job_types`` (default: every registered type), oldest
    state first within each type; see the module for the bounds."""
    task_modules_loaded()  # the tasks' hard time limits: a worker's start imports them
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
    running = list(
        job_type.filter(**{STATUS: job_type.running}).order_by(CHANGED, "pk").values(*fields)
    )
    waiting = job_type.filter(**{STATUS: job_type.queued})
    claimable = set(
        waiting.filter(job_type.claimable()).values_list("pk", flat=True)
        if job_type.claimable is not None
        else waiting.values_list("pk", flat=True)
    )
    ordered = (
        job_type.claim_order(waiting)
        if job_type.claim_order is not None
        else waiting.order_by(F(CHANGED).asc(nulls_first=True), "pk")
    )
    queued = list(ordered.values(*fields))
    if not running and not queued:
        return []
    context = _Context(
        job_type=job_type,
        now=now,
        counts=republished_counts(job_type=job_type, pks=[row["pk"] for row in queued]),
        limit=republish_limit(),
        hard=TASK_TIME_LIMITS.get(job_type.task_name),
        queue=TASK_QUEUES.get(job_type.task_name, ""),
        consumers=consumers,
        running_starts=[row[STARTED] for row in running if row[STARTED] is not None],
        finished_since=_finished_since(job_type, queued),
    )
    found = [context.job(row, bound=context.running_bound()) for row in running]
    ahead = len(running)
    for row in queued:
        if row["pk"] in claimable:
            found.append(context.job(row, bound=context.queued_bound(row, ahead=ahead)))
            ahead += 1
        else:  # no worker may take it now (e.g. a spent compute budget): held, not stuck
            found.append(context.job(row, bound=None))
    return found


@dataclass
class _Context:
    """What every job of one type is measured with (see the module)."""

    job_type: JobType
    now: datetime
    counts: dict[int, int]
    limit: int
    hard: float | None
    queue: str
    consumers: dict[str, int]

    running_starts: list[datetime]
    finished_since: list[tuple[datetime, datetime]]  # (start, end) since the oldest queued

    def __post_init__(self) -> None:
        self.typical, self.typical_why = _typical_seconds(
            _history(self.job_type), hard=self.hard
        )
        # A queue nobody consumes now: the bound says how long its jobs take once one does.
        self.workers = max(self.consumers.get(self.queue, 0), 1)

    def full_since(self, since: datetime) -> float:
        """Seconds after ``since`` during which the type's jobs (finished ones and those
        running now) kept every worker of the queue busy: the waiting a queued job was owed."""
        spans = self.finished_since + [(start, self.now) for start in self.running_starts]
        return _seconds_at_least(spans, start=since, end=self.now, count=self.workers)

    def running_bound(self) -> tuple[float, str]:
        limit = self.hard if self.hard is not None else UNKNOWN_RUN_SECONDS
        lost_after = float(settings.WORKER_LOST_AFTER_SECONDS)
        why = (
            f"the task's hard time limit ({limit:.0f} s) + {lost_after:.0f} s to see its "
            "worker lost"
        )
        return limit + lost_after, why

    def queued_bound(self, row: dict, *, ahead: int) -> tuple[float, str]:
        """From when the row was queued: the work its queue has done since, the time to
        resend a lost message, then one typical run for itself and each job ahead of it in
        claim order, shared by the queue's workers."""
        since = _since(row, self.job_type, now=self.now)
        slack = float(settings.JOB_REPUBLISH_SECONDS)
        rounds = math.ceil((ahead + 1) / self.workers)
        full = self.full_since(since)
        why = (
            f"{ahead} ahead of it on {self.workers} worker(s) of '{self.queue}': {rounds} x "
            f"{self.typical:.0f} s ({self.typical_why}) + {full:.0f} s its queue has been full "
            f"since it was queued + {slack:.0f} s to resend a lost message"
        )
        return full + slack + rounds * self.typical, why

    def job(self, row: dict, *, bound: tuple[float, str] | None) -> UnsettledJob:
        since = _since(row, self.job_type, now=self.now)
        age = max((self.now - since).total_seconds(), 0.0)
        republished = self.counts.get(row["pk"], 0)
        field = self.job_type.kind_field
        kind = str(row.get(field) or "") if field else ""
        seconds, why = bound if bound is not None else (None, HELD)
        return UnsettledJob(
            job_type=self.job_type.key,
            label=self.job_type.label,
            kind=kind or self.job_type.label,
            pk=row["pk"],
            state=row[STATUS],
            queue=self.queue,
            since=since,
            age_seconds=round(age, 3),
            republished=republished,
            republish_limit=self.limit,
            held=bound is None,
            bound_seconds=round(seconds, 3) if seconds is not None else None,
            bound_reason=why,
            over=(seconds is not None and age > seconds) or republished >= self.limit,
        )


def _since(row: dict, job_type: JobType, *, now: datetime) -> datetime:
    """When the row entered its state: its last change (a retry's due time when later; a
    row that never recorded a change: its claim, else now)."""
    since = row[CHANGED] or row[STARTED] or now
    due = row[DUE]
    if row[STATUS] == job_type.queued and due is not None and due > since:
        since = min(due, now)
    return since


def _seconds_at_least(
    spans: list[tuple[datetime, datetime]], *, start: datetime, end: datetime, count: int
) -> float:
    """The seconds of [start, end] covered by at least ``count`` of ``spans`` at once."""
    edges: list[tuple[datetime, int]] = []
    for begin, finish in spans:
        begin, finish = max(begin, start), min(finish, end)
        if finish > begin:
            edges += [(begin, 1), (finish, -1)]
    edges.sort()  # at one instant an end (-1) sorts before a start (+1)
    covered, active, last = 0.0, 0, start
    for moment, step in edges:
        if active >= count:
            covered += (moment - last).total_seconds()
        active, last = active + step, moment
    return covered


def _finished_since(job_type: JobType, queued: list[dict]) -> list[tuple[datetime, datetime]]:
    """``(started, finished)`` of the type's jobs that finished after its oldest queued row
    entered the queue (none when nothing is queued)."""
    if not queued:
        return []
    oldest = min(row[CHANGED] or row[STARTED] or timezone.now() for row in queued)
    rows = job_type.filter(**{f"{FINISHED}__gt": oldest}).values_list(STARTED, FINISHED)
    return [(start or end, end) for start, end in rows]


def _history(job_type: JobType) -> list[tuple[datetime, datetime]]:
    """``(started, finished)`` of the type's last finished jobs (by their last change: the
    ``(status, status_changed_at)`` index the job models have)."""
    final = job_type.filter(
        **{f"{STATUS}__in": list(job_type.final), f"{STARTED}__isnull": False},
        **{f"{FINISHED}__isnull": False},
    )
    return list(final.order_by(f"-{CHANGED}").values_list(STARTED, FINISHED)[:HISTORY])


def _typical_seconds(
    history: list[tuple[datetime, datetime]], *, hard: float | None
) -> tuple[float, str]:
    """How long one job of the type takes: the 90th percentile of its last finished jobs'
    durations, with the words that say so; its hard time limit while none finished."""
    durations = [max((end - start).total_seconds(), 0.0) for start, end in history]
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

    try:
        entries = live_entries(client=broker_redis())
    except redis.RedisError:
        return {}
    nodes: dict[str, set[str]] = {}
    for entry in entries.values():
        for queue in entry.get("queues", []):
            nodes.setdefault(queue, set()).add(str(entry.get("node", "")))
    return {queue: len(names) for queue, names in nodes.items()}
