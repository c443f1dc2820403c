"""Has the benchmark settled? Everything not final, with its state, age and bound
(docs/architecture.md, "Settled"): what ``manage.py benchmark_health`` prints and the
console's health page shows.

An answer of the platform is *settled* when it is final: a job succeeded or failed with a
reason, a board cell has its score, a robustness cell its figures or a final state, a
champion its decision. Everything else is *moving*, and each moving thing has a **bound**:
the age by which it should have moved on, derived from what it waits for:

- **jobs** (every queued or running row of every job type of the lifecycle's registry:
  scorings, algorithm runs of every profile, stress runs and reproductions among them,
  champion checks, trivial baseline builds, mails, webhooks): the lifecycle's own bound, from
  its queue's measured run times (``jobs.health.jobs_unsettled``);
- **board cells**: a team with no entry yet on a task, whose submission or run (a team's, the
  AutoGluon baseline) is queued or running: that job's bound;
- **robustness cells**: an entry whose stress run is queued or running (that job's bound), or
  is still to be queued by the beat's stress tick (twice the tick's period plus
  ``JOB_REPUBLISH_SECONDS`` from the clean run's end);
- **reproductions** still to be queued for a sampled run: the same rule with the benchmark
  tick, from the run's end; queued and running ones are jobs;
- **champions** being decided (a deciding check queued or weighing: its bound), or waiting for
  their reference (the champion is none or the trivial baseline while the task's AutoGluon
  baseline is queued or running: that run's bound).

Something past its bound is **over**: the command exits 1 when anything is
(docs/decisions/0051-every-answer-settles-or-moves-with-a-bound.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from algorithms.models import (
    ACTIVE,
    BASELINE_PROFILE,
    REPRODUCTION_PROFILE,
    STRESS_PROFILES,
    AlgorithmRun,
)
from algorithms.services.benchmark import reproductions_due
from algorithms.services.profiles import PROFILES, entry_profile_names, profile_named
from algorithms.stress_selectors import PENDING, robustness_states_for_runs
from jobs.celery import BEAT_SCHEDULE, task_modules_loaded
from jobs.health import UnsettledJob, jobs_unsettled
from leaderboard.champion.jobs import CHAMPION_CHECK
from leaderboard.models import ChampionCheck, LeaderboardEntry, Split, TaskChampion
from scoring.job_types import SCORING
from scoring.models import ReferenceSource, Submission

# The kinds of things listed, in the order they are shown.
CHAMPION, CELL, ROBUSTNESS, STRESS_RUN, REPRODUCTION, JOB = (
    "champion",
    "board cell",
    "robustness",
    "stress run",
    "reproduction",
    "job",
)
ORDER = (CHAMPION, CELL, ROBUSTNESS, STRESS_RUN, REPRODUCTION, JOB)


@dataclass(frozen=True)
class Unsettled:
    """One thing that is not final: what it is, its state, since when, and its bound (the
    age by which it should have moved on; ``over`` once past it)."""

    what: str  # one of ORDER
    name: str
    task: str  # the task's slug, "" for a job of no task
    state: str
    since: datetime
    age_seconds: float
    bound_seconds: float
    bound_reason: str
    over: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "name": self.name,
            "task": self.task,
            "state": self.state,
            "since": self.since.isoformat(),
            "age_seconds": round(self.age_seconds, 1),
            "bound_seconds": round(self.bound_seconds, 1),
            "bound_reason": self.bound_reason,
            "over": self.over,
        }


@dataclass(frozen=True)
class BenchmarkHealth:
    """Everything not final at ``at``; settled when there is nothing."""

    at: datetime
    items: list[Unsettled]

    @property
    def settled(self) -> bool:
        return not self.items

    @property
    def over(self) -> list[Unsettled]:
        return [item for item in self.items if item.over]

    def counts(self) -> dict[str, int]:
        found = {what: 0 for what in ORDER}
        for item in self.items:
            found[item.what] += 1
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "settled": self.settled,
            "moving": len(self.items),
            "over": len(self.over),
            "counts": self.counts(),
            "items": [item.as_json() for item in self.items],
        }


def benchmark_health(*, now: datetime | None = None) -> BenchmarkHealth:
    """Everything that is not final now (see the module), over first, then by kind and age."""
    now = now or timezone.now()
    jobs = jobs_unsettled(now=now)
    runs = _runs_of(jobs)
    items = [_job_item(job, runs.get(job.pk) if _is_run(job) else None) for job in jobs]
    items += _cells(jobs, runs)
    items += _robustness(jobs, now=now)
    items += _reproductions_to_queue(now=now)
    items += _champions(jobs, runs)
    items.sort(key=lambda i: (not i.over, ORDER.index(i.what), i.since, i.name))
    return BenchmarkHealth(at=now, items=items)


# --- jobs --------------------------------------------------------------------------------------

RUN_TASKS = frozenset(profile.task_name for profile in PROFILES.values())


def _is_run(job: UnsettledJob) -> bool:
    return job.job_type in RUN_TASKS


def _runs_of(jobs: list[UnsettledJob]) -> dict[int, dict[str, Any]]:
    """Run pk -> its profile, task and team, for the jobs that are algorithm runs."""
    pks = [job.pk for job in jobs if _is_run(job)]
    rows = AlgorithmRun.objects.filter(pk__in=pks).values(
        "pk",
        "profile",
        "task_id",
        "task__slug",
        "version__algorithm__team_id",
        "version__algorithm__team__name",
    )
    return {row["pk"]: row for row in rows}


def _job_item(job: UnsettledJob, run: dict[str, Any] | None) -> Unsettled:
    what, name, task = JOB, f"{job.label} #{job.pk}", ""
    if run is not None:
        profile = profile_named(name=run["profile"])
        task = run["task__slug"]
        what = (
            STRESS_RUN
            if run["profile"] in STRESS_PROFILES
            else REPRODUCTION
            if run["profile"] == REPRODUCTION_PROFILE
            else JOB
        )
        name = f"{profile.label} #{job.pk} of {run['version__algorithm__team__name']} on {task}"
    reason = job.bound_reason
    if job.republished:
        reason += f"; published again {job.republished} time(s) without starting"
    return _item(what, name, task, job, reason=reason)


def _item(what: str, name: str, task: str, job: UnsettledJob, *, reason: str) -> Unsettled:
    """A thing that moves with ``job``: its state, age and bound are the job's."""
    return Unsettled(
        what=what,
        name=name,
        task=task,
        state=job.state,
        since=job.since,
        age_seconds=job.age_seconds,
        bound_seconds=job.bound_seconds,
        bound_reason=reason,
        over=job.over,
    )


def _awaits(job: UnsettledJob, name: str) -> str:
    return f"awaits {name} ({job.state}): {job.bound_reason}"


# --- board cells -------------------------------------------------------------------------------


def _cells(jobs: list[UnsettledJob], runs: dict[int, dict[str, Any]]) -> list[Unsettled]:
    """A team without an entry on a task yet whose submission or entry-making run is on its
    way: the cell waits for that job (the first one found)."""
    waiting: dict[tuple[int, int], tuple[UnsettledJob, str, str, str]] = {}
    entry_profiles = set(entry_profile_names())
    for job in jobs:
        run = runs.get(job.pk) if _is_run(job) else None
        if run is not None and run["profile"] in entry_profiles:
            key = (run["task_id"], run["version__algorithm__team_id"])
            label = f"{profile_named(name=run['profile']).label} #{job.pk}"
            waiting.setdefault(
                key, (job, run["version__algorithm__team__name"], run["task__slug"], label)
            )
    scoring = {job.pk: job for job in jobs if job.job_type == SCORING.key}
    for row in Submission.objects.filter(pk__in=list(scoring)).values(
        "pk", "task_id", "task__slug", "team_id", "team__name"
    ):
        waiting.setdefault(
            (row["task_id"], row["team_id"]),
            (scoring[row["pk"]], row["team__name"], row["task__slug"], f"submission #{row['pk']}"),
        )
    if not waiting:
        return []
    entered = set(
        LeaderboardEntry.objects.filter(
            split=Split.PUBLIC, task_id__in={t for t, _ in waiting}
        ).values_list("task_id", "team_id")
    )
    return [
        _item(CELL, f"{team} on {task}", task, job, reason=_awaits(job, label))
        for key, (job, team, task, label) in waiting.items()
        if key not in entered
    ]


# --- robustness and reproductions ---------------------------------------------------------------


def _tick_bound(beat: str) -> tuple[float, str]:
    """How long something the beat's ``beat`` entry queues may wait for it: two periods
    (one may just have passed) plus ``JOB_REPUBLISH_SECONDS``."""
    task_modules_loaded()  # the beat's entries: each task declares its own
    every = float((BEAT_SCHEDULE.get(beat) or {}).get("schedule") or 60.0)
    slack = float(settings.JOB_REPUBLISH_SECONDS)
    return 2 * every + slack, (
        f"the beat's {beat} runs every {every:.0f} s: twice that + {slack:.0f} s"
    )


def _waiting_for_tick(
    what: str, name: str, task: str, state: str, since: datetime, *, beat: str, now: datetime
) -> Unsettled:
    bound, reason = _tick_bound(beat)
    age = max((now - since).total_seconds(), 0.0)
    return Unsettled(what, name, task, state, since, age, bound, reason, age > bound)


def _robustness(jobs: list[UnsettledJob], *, now: datetime) -> list[Unsettled]:
    """Every board entry made by a run whose robustness is pending (``robustness_state``)."""
    made = LeaderboardEntry.objects.filter(split=Split.PUBLIC).values_list(
        "submission_id", flat=True
    )
    runs = list(
        AlgorithmRun.objects.filter(submission_id__in=made).select_related(
            "task__track__challenge", "version__algorithm__team"
        )
    )
    by_key = {(job.job_type, job.pk): job for job in jobs}
    states = robustness_states_for_runs(runs=runs)
    found = []
    for run in runs:
        state = states.get(run.pk)
        if state is None or state.state != PENDING:
            continue
        name = f"{run.version.algorithm.team.name} on {run.task.slug}"
        stress = state.stress_run
        job = (
            by_key.get((profile_named(name=stress.profile).task_name, stress.pk))
            if stress is not None
            else None
        )
        if job is not None:
            label = f"{profile_named(name=stress.profile).label} #{stress.pk}"
            found.append(_item(ROBUSTNESS, name, run.task.slug, job, reason=_awaits(job, label)))
            continue
        since = state.since or run.finished_at or now
        found.append(
            _waiting_for_tick(
                ROBUSTNESS,
                name,
                run.task.slug,
                "stress run to be queued",
                since,
                beat="stress-tick",
                now=now,
            )
        )
    return found


def _reproductions_to_queue(*, now: datetime) -> list[Unsettled]:
    """Sampled runs whose reproduction the benchmark tick has not queued yet."""
    return [
        _waiting_for_tick(
            REPRODUCTION,
            f"reproduction of run #{run.pk} on {run.task.slug}",
            run.task.slug,
            "to be queued",
            run.finished_at or now,
            beat="benchmark-tick",
            now=now,
        )
        for run in reproductions_due(now=now)
    ]


# --- champions -------------------------------------------------------------------------------


def _latest(jobs: Iterable[UnsettledJob]) -> UnsettledJob:
    """The job whose bound ends last."""
    return max(jobs, key=lambda j: (j.over, j.since.timestamp() + j.bound_seconds))


def _champions(jobs: list[UnsettledJob], runs: dict[int, dict[str, Any]]) -> list[Unsettled]:
    """Tasks whose champion is being decided, or waits for its reference."""
    checks = {job.pk: job for job in jobs if job.job_type == CHAMPION_CHECK.key}
    deciding: dict[str, list[UnsettledJob]] = {}
    for pk, slug in ChampionCheck.objects.filter(pk__in=list(checks), decides=True).values_list(
        "pk", "task__slug"
    ):
        deciding.setdefault(slug, []).append(checks[pk])
    found = []
    for slug, waiting in deciding.items():
        job = _latest(waiting)
        reason = _awaits(job, f"{len(waiting)} deciding check(s), the last #{job.pk}")
        found.append(_item(CHAMPION, f"champion of {slug}", slug, job, reason=reason))
    baselines = {
        run["task_id"]: (job, run)
        for job in jobs
        if (run := runs.get(job.pk)) is not None
        and _is_run(job)
        and run["profile"] == BASELINE_PROFILE
        and job.state in ACTIVE
    }
    current = {
        task_id: (change_id, source)
        for task_id, change_id, source in TaskChampion.objects.filter(
            task_id__in=list(baselines)
        ).values_list("task_id", "current_id", "current__reference__source")
    }
    for task_id, (job, run) in baselines.items():
        slug = run["task__slug"]
        change_id, source = current.get(task_id, (None, None))
        if slug in deciding or (change_id is not None and source != ReferenceSource.TRIVIAL):
            continue  # decided on another entry than the trivial baseline: one more candidate
        reason = _awaits(job, f"the AutoGluon baseline's run #{job.pk}")
        item = _item(CHAMPION, f"champion of {slug}", slug, job, reason=reason)
        found.append(replace(item, state=f"waiting for its reference ({job.state})"))
    return found
