"""The living benchmark's scheduler (docs/architecture.md §12): every benchmark version
on every new task and data version, with no one acting, within the budget, resumable after a
restart.

- **Membership**: a version is in the benchmark when its team marked it (``in_benchmark``
  True), or, unmarked (None), when it is its algorithm's latest version or the team's final
  one (:func:`benchmark_versions`); a team keeps at most ``BENCHMARK_VERSIONS_PER_TEAM``
  there (issue 39: one team had marked 73, and every new task queued them all against the
  shared budget): its marks first, then its final version, then the latest versions of its
  most recent uploads; marking one more in than the cap is refused, naming those in.
  Algorithms of hidden teams and of the platform's baseline team are never re-run (the
  baseline runs by itself).
- **Re-runs**: a task added to a track (``hooks.TaskAdded``) or given a new data version
  (``hooks.TaskDataChanged``) gets one ``benchmark`` run of every benchmark version of its
  challenge, in the transaction that changed it (:func:`benchmark_queue_task`); a version
  with a re-run still pending on the task is not queued twice (a constraint says so too).
- **Resumable**: the queue is the runs' rows. While the budget is spent the dispatcher does
  not take them (:mod:`.budget`); whenever queued runs a worker may claim have no message on
  the broker (the budget opened again, a restart, a publish that was lost) the lifecycle's
  :func:`jobs.republish.jobs_republish` sends theirs, on the beat within
  ``JOB_REPUBLISH_SECONDS``, and :func:`benchmark_tick` (every minute) does the same for the
  runs at once, then samples finished runs for reproduction.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Avg, Count, F, Max, Q, QuerySet
from django.utils import timezone

from algorithms.job_types import RUN_TYPES
from algorithms.models import (
    ACTIVE,
    BENCHMARK_PROFILE,
    REPRODUCTION_PROFILE,
    STRESS_PROFILES,
    AlgorithmRun,
    AlgorithmRunStatus,
    AlgorithmVersion,
)
from algorithms.services import budget
from algorithms.services.common import AlgorithmRefused
from algorithms.services.profiles import BENCHMARK, REPRODUCTION
from algorithms.services.runs import run_create
from challenges.models import Challenge, Team
from challenges.selectors import user_is_member
from datasets.models import Task
from jobs import liveness
from jobs.republish import jobs_republish
from scoring.models import SubmissionStatus

logger = logging.getLogger(__name__)

# The beat rings for at most this many queued background runs at once (each doorbell claims
# one run; a duplicate finds nothing and does nothing).
# Finished runs this recent are sampled for reproduction; recent re-runs estimate the ETA.
REPRODUCTION_WINDOW = timedelta(days=1)
ETA_SAMPLE = 50


# --- membership --------------------------------------------------------------------------------


def _by_the_rule(versions: QuerySet[AlgorithmVersion]) -> QuerySet[AlgorithmVersion]:
    """Of ``versions``, those the membership rule takes before the cap: marked in, or
    unmarked and the final one or their algorithm's latest."""
    versions = versions.annotate(latest=Max("algorithm__versions__number"))
    unmarked_default = Q(in_benchmark__isnull=True) & (Q(is_final=True) | Q(number=F("latest")))
    return versions.filter(Q(in_benchmark=True) | unmarked_default)


def _within_the_cap(versions: QuerySet[AlgorithmVersion]) -> set[int]:
    """The pks of ``versions`` (taken by the rule) each team keeps: at most
    ``BENCHMARK_VERSIONS_PER_TEAM`` (0: all), its marks first, then its final version, then
    its latest versions, newest upload first."""
    cap = settings.BENCHMARK_VERSIONS_PER_TEAM
    ranked: dict[int, list[tuple[int, int]]] = defaultdict(list)
    rows = versions.values_list("pk", "algorithm__team_id", "in_benchmark", "is_final")
    for pk, team_id, marked, final in rows:
        ranked[team_id].append((0 if marked else 1 if final else 2, -pk))
    kept: set[int] = set()
    for entries in ranked.values():
        entries.sort()
        kept.update(-negative for _, negative in (entries[:cap] if cap > 0 else entries))
    return kept


def benchmark_versions(*, challenge: Challenge) -> QuerySet[AlgorithmVersion]:
    """The versions of ``challenge``'s algorithms that are in the benchmark now."""
    versions = AlgorithmVersion.objects.filter(
        algorithm__challenge=challenge,
        algorithm__team__is_hidden=False,
        algorithm__team__is_baseline=False,
    )
    return (
        AlgorithmVersion.objects.filter(pk__in=_within_the_cap(_by_the_rule(versions)))
        .select_related("algorithm__team")
        .order_by("algorithm_id", "number")
    )


def benchmark_member_ids(*, team: Team) -> set[int]:
    """The pks of ``team``'s versions in the benchmark (the rule of
    :func:`benchmark_versions`, whether or not the team is hidden): one query for a page."""
    return _within_the_cap(_by_the_rule(AlgorithmVersion.objects.filter(algorithm__team=team)))


def version_in_benchmark(*, version: AlgorithmVersion) -> bool:
    """Whether ``version`` is in the benchmark (the same rule as :func:`benchmark_versions`)."""
    if version.in_benchmark is False:
        return False
    return version.pk in benchmark_member_ids(team=version.algorithm.team)


def _check_the_cap(*, team: Team, version: AlgorithmVersion) -> None:
    """Refuse marking ``version`` in when the team has marked as many as it may keep."""
    cap = settings.BENCHMARK_VERSIONS_PER_TEAM
    if cap <= 0:
        return
    marked = list(
        AlgorithmVersion.objects.filter(algorithm__team=team, in_benchmark=True)
        .exclude(pk=version.pk)
        .select_related("algorithm")
        .order_by("algorithm__name", "number")
    )
    if len(marked) < cap:
        return
    named = ", ".join(f"{v.algorithm.name} v{v.number}" for v in marked)
    raise AlgorithmRefused(
        "benchmark_cap",
        f"Your team already has {len(marked)} versions marked in the benchmark, the most it "
        f"may keep there ({cap}): {named}. Mark one of them out (or back to the default) "
        f"first; {version.algorithm.name} v{version.number} was not marked.",
        409,
    )


def benchmark_mark(
    *,
    version: AlgorithmVersion,
    user: AbstractBaseUser | AnonymousUser,
    in_benchmark: bool | object | None = ...,
    final: bool | None = None,
) -> AlgorithmVersion:
    """A team member marks its version in (True) or out of (False) the benchmark, or back to
    the default (None), and/or as the team's final version (one per team: marking one
    unmarks the others). Only the version's team may: anyone else gets "not found". Marking
    in past ``BENCHMARK_VERSIONS_PER_TEAM`` marks is refused (409 ``benchmark_cap``, naming
    the marked ones); nothing changes then."""
    team = version.algorithm.team
    if not user.is_authenticated or not user_is_member(team=team, user=user):
        raise AlgorithmRefused("not_found", "No such algorithm version.", 404)
    if team.is_hidden:
        raise AlgorithmRefused(
            "team_hidden", team.hidden_refusal("cannot change its algorithms"), 403
        )
    with transaction.atomic():
        # A team's marks take turns (two at once cannot both take the last place).
        Team.objects.select_for_update().filter(pk=team.pk).values_list("pk").first()
        locked = AlgorithmVersion.objects.select_for_update().get(pk=version.pk)
        changed = []
        if in_benchmark is True and locked.in_benchmark is not True:
            _check_the_cap(team=team, version=locked)
        if in_benchmark is not ...:
            locked.in_benchmark = in_benchmark  # type: ignore[assignment]
            changed.append("in_benchmark")
        if final is not None:
            if final:
                AlgorithmVersion.objects.filter(algorithm__team=team, is_final=True).exclude(
                    pk=locked.pk
                ).update(is_final=False)
            locked.is_final = final
            changed.append("is_final")
        if changed:
            locked.save(update_fields=changed)
    logger.info("version %s: in_benchmark=%s final=%s", locked.pk, locked.in_benchmark, final)
    return locked


# --- re-runs -----------------------------------------------------------------------------------


def benchmark_queue_task(*, task: Task) -> list[AlgorithmRun]:
    """Inside a transaction: one ``benchmark`` run of every benchmark version of the task's
    challenge on ``task``, except versions with one pending on it already."""
    pending = set(
        AlgorithmRun.objects.filter(
            task=task, profile=BENCHMARK_PROFILE, status__in=ACTIVE
        ).values_list("version_id", flat=True)
    )
    runs = [
        run_create(profile=BENCHMARK, version=version, task=task, audit=False)
        for version in benchmark_versions(challenge=task.track.challenge)
        if version.pk not in pending
    ]
    if runs:
        logger.info(
            "task %s v%s: %s benchmark re-runs queued", task.slug, task.data_version, len(runs)
        )
    return runs


def benchmark_task_arrived(*, task_id: int) -> None:
    """A task arrived or got a new data version (``algorithms.receivers``): every benchmark
    version re-runs on it."""
    task = Task.objects.select_related("track__challenge").filter(pk=task_id).first()
    if task is not None:
        benchmark_queue_task(task=task)


# --- reproductions -----------------------------------------------------------------------------


def sampled_for_reproduction(*, pk: int, share: float) -> bool:
    """Whether run ``pk`` is in the reproduction sample: a fixed draw per run (a hash of its
    id), so every tick, every process and every restart agrees."""
    if share <= 0:
        return False
    draw = int.from_bytes(hashlib.sha256(f"reproduce:{pk}".encode()).digest()[:8], "big")
    return draw / 2**64 < share


def reproductions_due(*, now: datetime | None = None) -> list[AlgorithmRun]:
    """The runs :func:`reproductions_queue` reproduces next (read only): each sampled run that
    finished within the window, succeeded with its predictions kept, ran the sandbox (not a
    reused result), is not itself a reproduction and has none, and whose task still has the
    data it ran on; oldest first, at most 500 a tick."""
    now = now or timezone.now()
    share = float(settings.REPRODUCTION_SHARE)
    if share <= 0:
        return []
    candidates = (
        AlgorithmRun.objects.filter(
            status=AlgorithmRunStatus.SUCCEEDED,
            finished_at__gte=now - REPRODUCTION_WINDOW,
            reused_from__isnull=True,
            reproduces__isnull=True,
            reproductions__isnull=True,
            version__algorithm__team__is_baseline=False,
        )
        .exclude(profile__in=(REPRODUCTION_PROFILE, "baseline", *STRESS_PROFILES))
        .filter(Q(submission__status=SubmissionStatus.SCORED) | ~Q(predictions=""))
        .select_related("version", "task")
        .order_by("finished_at", "pk")
    )
    return [
        run
        for run in candidates[:500]
        if sampled_for_reproduction(pk=run.pk, share=share)
        and (run.manifest or {}).get("task_data_version") in (None, run.task.data_version)
    ]


def reproductions_queue(*, now: datetime | None = None) -> list[AlgorithmRun]:
    """Queue a ``reproduction`` of each run :func:`reproductions_due` names."""
    queued = []
    for run in reproductions_due(now=now):
        with transaction.atomic():
            queued.append(
                run_create(
                    profile=REPRODUCTION,
                    version=run.version,
                    task=run.task,
                    options=run.options,
                    audit=False,
                    seed=run.seed,
                    limits=run.limits,
                    reproduces=run,
                )
            )
    return queued


# --- the beat ----------------------------------------------------------------------------------


def benchmark_tick(*, now: datetime | None = None) -> dict[str, int]:
    """The beat's work: sample finished runs for reproduction, then ring the doorbell for
    every queued run a worker may claim now and no message waits for (the lifecycle's one
    path for lost messages, :func:`jobs.republish.jobs_republish`, on the run types)."""
    reproductions = reproductions_queue(now=now)
    published = jobs_republish(job_types=list(RUN_TYPES.values()), now=now)
    return {
        "reproductions": len(reproductions),
        "rung": sum(len(pks) for pks in published.values()),
        "budget_open": int(budget.budget_open(now=now)),
    }


# --- the queue's state -------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchmarkStatus:
    pending: int
    running: int
    done: int
    failed: int
    eta_seconds: float | None
    cpu_hours_per_day: float
    used_today: float  # CPU-hours

    def as_dict(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "running": self.running,
            "done": self.done,
            "failed": self.failed,
            "eta_seconds": self.eta_seconds,
            "budget": {"cpu_hours_per_day": self.cpu_hours_per_day, "used_today": self.used_today},
        }


def benchmark_status(*, challenge: Challenge, now: datetime | None = None) -> BenchmarkStatus:
    """The re-runs of ``challenge`` by status, the ETA of the pending ones, and the budget."""
    now = now or timezone.now()
    runs = AlgorithmRun.objects.filter(
        profile=BENCHMARK_PROFILE, version__algorithm__challenge=challenge
    )
    counts = dict(
        runs.values("status").annotate(n=Count("pk")).order_by().values_list("status", "n")
    )
    pending = counts.get(AlgorithmRunStatus.QUEUED, 0)
    running = counts.get(AlgorithmRunStatus.RUNNING, 0)
    used = budget.used_cpu_seconds_today(now=now)
    return BenchmarkStatus(
        pending=pending,
        running=running,
        done=counts.get(AlgorithmRunStatus.SUCCEEDED, 0),
        failed=counts.get(AlgorithmRunStatus.FAILED, 0),
        eta_seconds=benchmark_eta(pending=pending + running, used=used, now=now),
        cpu_hours_per_day=float(settings.BENCHMARK_CPU_HOURS_PER_DAY),
        used_today=round(used / 3600.0, 6),
    )


def benchmark_eta(*, pending: int, used: float, now: datetime) -> float | None:
    """Seconds until ``pending`` re-runs are done: the recent re-runs' mean wall time per
    run spread over the live workers of their queue, and, when their mean CPU time needs
    more than today's budget has left, the days the budget makes them wait. 0 with nothing
    pending; None when no re-run has run yet to learn from, the budget is 0, or no worker of
    their queue is alive (nothing runs them until one starts: no time can be promised)."""
    if pending == 0:
        return 0.0
    recent = AlgorithmRun.objects.filter(
        profile=BENCHMARK_PROFILE,
        status=AlgorithmRunStatus.SUCCEEDED,
        seconds__isnull=False,
        cpu_seconds__isnull=False,
    ).order_by("-finished_at")[:ETA_SAMPLE]
    means = AlgorithmRun.objects.filter(pk__in=list(recent.values_list("pk", flat=True))).aggregate(
        wall=Avg("seconds"), cpu=Avg("cpu_seconds")
    )
    daily = budget.budget_cpu_seconds()
    if means["wall"] is None or daily <= 0:
        return None
    nodes = len(liveness.live_nodes(queue=BENCHMARK.queue))
    if nodes == 0:
        return None
    wall = pending * float(means["wall"]) / nodes
    cpu_needed = pending * float(means["cpu"] or 0.0)
    left_today = max(0.0, daily - used)
    if cpu_needed <= left_today:
        return round(wall, 1)
    # What today's budget leaves waits for the next day(s): each day runs a day's budget.
    days = math.ceil((cpu_needed - left_today) / daily)
    until_tomorrow = (budget.next_day_start(now=now) - now).total_seconds()
    share_after = ((cpu_needed - left_today) - (days - 1) * daily) / max(cpu_needed, 1e-9)
    return round(until_tomorrow + (days - 1) * 86400 + wall * share_after, 1)
