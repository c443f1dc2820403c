"""The background runs' compute budget, and where a reproduction may run
(docs/architecture.md §12).

Background runs (the ``benchmark`` re-runs, the ``reproduction`` and the ``stress`` runs) share
one budget of CPU-hours per UTC day (``BENCHMARK_CPU_HOURS_PER_DAY``): the CPU seconds of the
background runs that *finished* since midnight UTC. While it is spent their profiles are not
``eligible`` (:mod:`.dispatch`): they stay queued in the database, nothing in memory, and the
beat (:func:`algorithms.tasks.ring_benchmark`) rings the doorbell again once the next day
starts or the budget is raised. Runs already running finish, so a day may end over its
budget by at most what the workers were running when it was spent.

A reproduction repeats a run on another worker than the one that ran it, where there is one:
a worker node refuses the reproductions of its own runs while another live node consumes the
reproductions' queue, for ``REPRODUCTION_PREFER_OTHER_SECONDS`` after the reproduction was
queued (:func:`prefer_other_seconds`); then (or when it is the queue's only consumer, the
embedded default's one algorithms worker) it takes them itself, and the reproduction's
manifest says on which worker it ran (:func:`.manifest.reproduction_placement`). So a
reproduction always runs, on another worker when one is free to, never refused by every
worker that could take it
(docs/decisions/0047-every-job-settles-and-a-stop-is-not-a-failure.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from algorithms.models import BENCHMARK_PROFILE, REPRODUCTION_PROFILE, STRESS_PROFILES, AlgorithmRun
from jobs import liveness

BACKGROUND_PROFILES = (BENCHMARK_PROFILE, REPRODUCTION_PROFILE, *STRESS_PROFILES)
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


# Within one claim's question (:func:`one_answer`), the budget's answer, asked once.
_answer: ContextVar[dict[str, bool] | None] = ContextVar("budget_answer", default=None)


def budget_open(*, now: datetime | None = None) -> bool:
    """Whether background runs may start now: today's budget is not spent."""
    answered = _answer.get()
    if answered is None or now is not None:
        return used_cpu_seconds_today(now=now) < budget_cpu_seconds()
    if "open" not in answered:
        answered["open"] = used_cpu_seconds_today() < budget_cpu_seconds()
    return answered["open"]


@contextmanager
def one_answer() -> Iterator[None]:
    """Within: the budget is summed once, however many profiles ask (a claim's question)."""
    token = _answer.set({})
    try:
        yield
    finally:
        _answer.reset(token)


def background_eligible(*, worker: str | None = None) -> Q:
    """The dispatcher's condition for a background profile: all of it, or none."""
    return Q() if budget_open() else NOTHING


def reproduction_eligible(*, queue: str, worker: str | None = None) -> Q:
    """Within the budget; and for the node ``worker`` (its Celery node name), not yet the
    reproduction of a run it ran itself while another live node consumes ``queue`` (the
    queue reproductions run on): only a node that takes reproductions counts, never a
    scoring or baselines worker, which beat too but would never take one."""
    if not budget_open():
        return NOTHING
    if not worker:
        return Q()
    # Redis unreachable: no other node is known, so this one may (rather than none).
    others = liveness.live_nodes(queue=queue) - {worker}
    if not others:
        return Q()
    waited = timezone.now() - timedelta(seconds=prefer_other_seconds())
    return ~Q(reproduces__worker_hostname=worker) | Q(status_changed_at__lte=waited)


def prefer_other_seconds() -> float:
    """How long a reproduction waits for another node: ``REPRODUCTION_PREFER_OTHER_SECONDS``,
    but never as long as half the lifecycle's bound on trying (meanwhile each doorbell the
    refusing node takes is published again: :mod:`jobs.republish` fails a job past
    ``JOB_REPUBLISH_LIMIT`` of those, and a reproduction must not get there by waiting)."""
    bound = float(settings.JOB_REPUBLISH_SECONDS) * int(settings.JOB_REPUBLISH_LIMIT) / 4
    return max(min(float(settings.REPRODUCTION_PREFER_OTHER_SECONDS), bound), 0.0)
