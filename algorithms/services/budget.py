"""The background runs' compute budget, and where a reproduction may run (docs/architecture.md §12).

Background runs (the ``benchmark`` re-runs, the ``reproduction`` and the ``stress`` runs) share
one budget of CPU-hours per UTC day (``BENCHMARK_CPU_HOURS_PER_DAY``): the CPU seconds of the
background runs that *finished* since midnight UTC. While it is spent their profiles are not
``eligible`` (:mod:`.dispatch`): they stay queued in the database, nothing in memory, and the
beat (:func:`algorithms.tasks.ring_benchmark`) rings the doorbell again once the next day
starts or the budget is raised. Runs already running finish, so a day may end over its
budget by at most what the workers were running when it was spent.

A reproduction repeats a run on another worker than the one that ran it: a worker node
is not eligible for the reproductions of its own runs while another worker node is alive
(one worker alone may reproduce its own, rather than never).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from algorithms.models import BENCHMARK_PROFILE, REPRODUCTION_PROFILE, STRESS_PROFILES, AlgorithmRun
from jobs import liveness

BACKGROUND_PROFILES = (BENCHMARK_PROFILE, REPRODUCTION_PROFILE, *STRESS_PROFILES)
REPRODUCTION_QUEUE = "algorithms"  # the queue of the reproductions' task (profiles.REPRODUCTION)
NOTHING = Q(pk__in=[])


def day_start(*, now: datetime | None = None) -> datetime:
    """Midnight UTC of ``now``'s day: the budget's day."""
    now = (now or timezone.now()).astimezone(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def next_day_start(*, now: datetime | None = None) -> datetime:
    return day_start(now=now) + timedelta(days=1)


def budget_cpu_seconds() -> float:
    """Today's budget in CPU seconds (never negative)."""
    return max(0.0, float(settings.BENCHMARK_CPU_HOURS_PER_DAY)) * 3600.0


def used_cpu_seconds_today(*, now: datetime | None = None) -> float:
    """CPU seconds of the background runs finished since midnight UTC (a reused result
    used none: its run has no ``cpu_seconds``)."""
    total = AlgorithmRun.objects.filter(
        profile__in=BACKGROUND_PROFILES,
        finished_at__gte=day_start(now=now),
        cpu_seconds__isnull=False,
    ).aggregate(total=Sum("cpu_seconds"))["total"]
    return float(total or 0.0)


def budget_open(*, now: datetime | None = None) -> bool:
    """Whether background runs may start now: today's budget is not spent."""
    return used_cpu_seconds_today(now=now) < budget_cpu_seconds()


def background_eligible(*, worker: str | None = None) -> Q:
    """The dispatcher's condition for a background profile: all of it, or none."""
    return Q() if budget_open() else NOTHING


def reproduction_eligible(*, worker: str | None = None) -> Q:
    """Within the budget, and not the reproduction of a run this worker node ran while
    another worker node is alive."""
    if not budget_open():
        return NOTHING
    if not worker:
        return Q()
    # Another node that runs algorithms: alive now, consuming the reproductions' queue, and
    # ran one within the last day (a scoring-only worker beats too, and the baselines worker
    # runs runs of another queue: neither would ever take the reproduction).
    since = timezone.now() - timedelta(days=1)
    runners = set(
        AlgorithmRun.objects.filter(started_at__gte=since)
        .exclude(worker_hostname="")
        .values_list("worker_hostname", flat=True)
        .distinct()
    )
    others = (liveness.live_nodes(queue=REPRODUCTION_QUEUE) & runners) - {worker}
    if not others:  # alone, or liveness unknown (Redis unreachable): anyone may
        return Q()
    return ~Q(reproduces__worker_hostname=worker)
