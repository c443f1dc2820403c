"""Run profiles: what decides a run's limits, queue and outcome (one registry).

Every run is an :class:`~algorithms.models.AlgorithmRun` and goes through the one pipeline
(claim -> ``/task`` folder -> sandbox -> output -> outcome, :mod:`.execute`), the one cancel
and the one sweeper (:mod:`.runs`). What differs between a team's run, an organizer's run
and the AutoGluon baseline is written once, here, as a frozen :class:`RunProfile`:

- ``team``: a team member runs its own algorithm; the predictions become the team's
  submission through ``submission_create``, checked like an upload (team, open dates,
  daily limit), scored in the run's worker from what the output check aligned, and ranked;
- ``organizer``: an organizer runs another team's algorithm; scored on the run for the
  transfer matrix only, never a submission, never ranked, no daily limit;
- ``baseline``: the built-in AutoGluon algorithm of the challenge's baseline team, on the
  ``baselines`` queue (one worker, concurrency 1) under its own limits and environment;
  its predictions become the baseline team's unranked submission; a task's first one is
  class 0, one run again on unchanged data class 15 (after every first answer);
- ``benchmark``: a re-run of a benchmark version on a new task or data version
  (:mod:`.benchmark`), queued by the platform: scored for the transfer matrix like an
  organizer's run (never a submission, never on a ranked board, no daily limit, no team
  queue cap), priority class 10 (15 when its cell already has its answer) and only within
  the day's CPU budget (:mod:`.budget`); it may take the result of a finished run with the
  same inputs (``BENCHMARK_REUSE_RESULTS``);
- ``reproduction``: a finished run repeated on another worker (class 15, same budget),
  never a submission: its predictions are compared with the original's (``agreement``);
  never a transfer cell's run (``fills_cell``), whatever its outcome: it checks a run, it
  does not stand for the algorithm.
- ``stress`` and ``baseline_stress``: a benchmark version's (or the AutoGluon baseline's)
  run on perturbed copies of the task's test rows (:mod:`.stress`, docs/organizers/stress.md), with
  its clean run's seed and limits (the baseline's on the ``baselines`` queue, with its
  environment); class 15, same budget, reusing a finished stress run's result as re-runs do;
  never a submission: its figures are compared with the clean run's.

A new kind of run is one more entry in :data:`PROFILES` (and a Celery task when it needs
its own queue or time limits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from django.conf import settings
from django.db.models import Q

from algorithms import task_names
from algorithms.builtin.autogluon import outputs as baseline_outputs
from algorithms.models import (
    BASELINE_PROFILE,
    BASELINE_STRESS_PROFILE,
    BENCHMARK_PROFILE,
    ORGANIZER_PROFILE,
    REPRODUCTION_PROFILE,
    STRESS_PROFILE,
    TEAM_PROFILE,
    AlgorithmRun,
)
from algorithms.sandbox.base import SandboxLimits
from algorithms.services import budget, builtin, outcome, stress
from algorithms.services.common import sandbox_limits
from jobs.celery import TASK_QUEUES
from jobs.registry import JobType, job_type_named

# Priority classes (:mod:`.dispatch`: the lowest class first). First answers: a run a person
# asked for, a task's first AutoGluon baseline (class 0) and the first run of a kept method
# on a task (class 10). Then the extra answers, one class in the order they were queued (so
# none starves behind a stream of another kind): work already answered run again, stress
# runs, reproductions (15). So a new task's baseline and first cells never wait behind
# another task's extras, on the baselines queue (one worker, one at a time) or the
# algorithms queue (issue 50).
FIRST = 0
FIRST_BACKGROUND = 10
EXTRA = 15

# {why}: what happened; {seconds}: how long the run had run; {attempts}: claims it had.
TEAM_WORKER_LOST = (
    "The worker running this algorithm stopped ({why}) and the run used its {attempts} "
    "attempts; run it again."
)
BASELINE_WORKER_LOST = (
    "The worker running this baseline stopped unexpectedly ({why}) after {seconds:.0f} s."
    " It was not retried automatically; use 'Run baseline again'."
)


@dataclass(frozen=True)
class RunProfile:
    """How one kind of run is limited, queued and concluded."""

    name: str  # stored on the run (``AlgorithmRun.profile``)
    label: str
    task_name: str  # the Celery task that runs it (its queue; its time limits are these)
    soft_time_limit: Callable[[], int]  # the task's limits, read lazily (settings)
    hard_time_limit: Callable[[], int]
    max_attempts: Callable[[], int]  # claims a run may have; 1: a lost worker fails the run
    # The callables below are called with keywords, as the house's services are.
    limits: Callable[..., SandboxLimits]  # (options=...): from the run's options, at queue
    environment: Callable[..., dict[str, str]]  # (run=...): on the worker, at run time
    finish: outcome.Finish  # (ending=, predictions=): what a succeeded run's predictions become
    audit_action: str  # prefix of the audit actions ``<prefix>.start`` and ``.cancel``
    worker_lost: str  # the failure when its worker was lost and no attempt is left
    live_log: str | None = None  # an /output file tailed into ``log_tail`` while running
    result_file: str | None = None  # an /output JSON object kept as ``result``
    keep: tuple[str, ...] = field(default=())  # /output files kept as artifacts
    internal_detail: bool = False  # internal errors name the exception (organizers only)
    # Dispatch (:mod:`.dispatch`): a worker of ``task_name`` takes the queued run of the
    # lowest class first (runs a person asked for are class 0; background runs a higher
    # number), then by its team's share, then age. ``eligible`` (asked at claim time with the
    # claiming worker's node name) may hold runs back, e.g. while a compute budget is spent;
    # None: always eligible.
    priority: int = 0
    # The class of a run of this profile that repeats work already answered: its version has
    # a succeeded clean run on the task's current data (a baseline run again on unchanged
    # data, a benchmark re-run of a cell that has its answer). None: always ``priority``.
    # First answers go before such extras (:data:`EXTRA`;
    # docs/decisions/0047-every-job-settles-and-a-stop-is-not-a-failure.md).
    again_priority: int | None = None
    eligible: Callable[..., Q] | None = None  # (worker=...)
    # Whether a run may take the result of a finished run with the same inputs instead of
    # running (:mod:`.manifest`); read at run time.
    reuse: Callable[[], bool] = field(default=lambda: False)
    # Whether a run of this profile may be a transfer cell's run (the selector
    # ``algorithms.selectors.transfer_cell_runs`` says which one is).
    fills_cell: bool = True
    # How its ``/task`` is staged (``(run=, folder=, on_chunk=) -> Staged``; None: the
    # task as a participant downloads it) and how it takes a reused run's result (None:
    # ``outcome.take_result``): a stress run's perturbed copies (:mod:`.stress`).
    stage: Callable[..., Any] | None = None
    take: Callable[..., str] | None = None  # (ending=..., origin=...)
    # Whether ``finish`` scores the run in the worker (``outcome.scored_in_worker``: a team's
    # submission, a transfer cell, a reproduction): the output check then hands it what it
    # aligned, so the file is not parsed again.
    hand_over: bool = False
    # Whether a succeeded run becomes its team's entry on the task's board (a submission):
    # while it is queued or running, the track board's cell says so (``board_runs_pending``).
    makes_entry: bool = False
    # The fitted model handed from a clean run to its stress run (:mod:`.kept_models`):
    # "pack" (the clean run packs it, the worker keeps it), "load" (the stress run is shown
    # the kept one), None (neither).
    hands_model: str | None = None

    @property
    def queue(self) -> str:
        """The queue of its Celery task (declared with the task's name)."""
        return TASK_QUEUES[self.task_name]

    @property
    def job_type(self) -> JobType:
        """The job type of this profile's runs: the one of its Celery task (every profile a
        task serves shares its rows and its doorbells; ``algorithms.job_types.RUN_TYPES``,
        registered at start)."""
        job_type = job_type_named(key=self.task_name)
        if job_type is None:
            raise LookupError(f"no job type is registered for {self.task_name}")
        return job_type


def _no_environment(*, run: AlgorithmRun) -> dict[str, str]:
    return {}


def _algorithm_soft_limit() -> int:
    return int(settings.ALGORITHM_SOFT_TIME_LIMIT)


def _algorithm_hard_limit() -> int:
    return int(settings.ALGORITHM_HARD_TIME_LIMIT)


def _algorithm_attempts() -> int:
    return int(settings.ALGORITHM_MAX_ATTEMPTS)


TEAM = RunProfile(
    name=TEAM_PROFILE,
    label="algorithm",
    task_name=task_names.RUN_ALGORITHM,
    soft_time_limit=_algorithm_soft_limit,
    hard_time_limit=_algorithm_hard_limit,
    max_attempts=_algorithm_attempts,
    limits=lambda *, options: sandbox_limits(),
    environment=_no_environment,
    finish=outcome.submit_as_team,
    audit_action="algorithm_run",
    worker_lost=TEAM_WORKER_LOST,
    hand_over=True,
    makes_entry=True,
)
# The same runs as a team's, concluded differently.
ORGANIZER = replace(
    TEAM,
    name=ORGANIZER_PROFILE,
    label="organizer's algorithm",
    finish=outcome.score_for_transfer,
    hand_over=True,
    makes_entry=False,
)
BASELINE = RunProfile(
    name=BASELINE_PROFILE,
    label="baseline",
    task_name=task_names.RUN_BASELINE,
    soft_time_limit=builtin.worker_soft_time_limit,
    hard_time_limit=builtin.worker_hard_time_limit,
    # Not re-run automatically after a lost worker: the likeliest cause (AutoGluon exhausting
    # memory) would recur and take the worker down again, in a loop. One click re-runs it.
    max_attempts=lambda: 1,
    limits=builtin.baseline_limits,
    environment=builtin.baseline_environment,
    finish=outcome.submit_as_platform_team,
    audit_action="baseline_run",
    worker_lost=BASELINE_WORKER_LOST,
    priority=FIRST,
    again_priority=EXTRA,
    live_log=baseline_outputs.FIT_LOG,
    result_file=baseline_outputs.RESULT,
    keep=(baseline_outputs.LEADERBOARD, baseline_outputs.FIT_LOG),
    internal_detail=True,
    makes_entry=True,
    hands_model="pack",
)

# Background runs: after every run a person asked for, within the CPU budget.
BENCHMARK = replace(
    ORGANIZER,
    name=BENCHMARK_PROFILE,
    label="benchmark re-run",
    audit_action="benchmark_run",
    priority=FIRST_BACKGROUND,
    again_priority=EXTRA,
    eligible=budget.background_eligible,
    reuse=lambda: bool(settings.BENCHMARK_REUSE_RESULTS),
)
REPRODUCTION = replace(
    ORGANIZER,
    name=REPRODUCTION_PROFILE,
    label="reproduction",
    audit_action="reproduction_run",
    finish=outcome.compare_with_original,
    max_attempts=lambda: 1,
    priority=EXTRA,
    again_priority=None,
    eligible=partial(budget.reproduction_eligible, queue=ORGANIZER.queue),
    fills_cell=False,
)

STRESS = replace(
    BENCHMARK,
    name=STRESS_PROFILE,
    label="stress run",
    audit_action="stress_run",
    finish=stress.stress_finish,
    priority=EXTRA,
    again_priority=None,
    stage=stress.stress_stage,
    take=stress.stress_take,
    fills_cell=False,  # its figures are the robustness view's, beside the clean cell
    hand_over=False,  # scored against its perturbed truth from the file (:mod:`.stress`)
)
BASELINE_STRESS = replace(
    BASELINE,
    name=BASELINE_STRESS_PROFILE,
    label="baseline stress run",
    audit_action="stress_run",
    finish=stress.stress_finish,
    result_file=None,
    keep=(),
    priority=EXTRA,
    again_priority=None,
    eligible=budget.background_eligible,
    reuse=lambda: bool(settings.BENCHMARK_REUSE_RESULTS),
    stage=stress.stress_stage,
    take=stress.stress_take,
    fills_cell=False,
    makes_entry=False,
    hands_model="load",
)

PROFILES: dict[str, RunProfile] = {
    p.name: p
    for p in (TEAM, ORGANIZER, BASELINE, BENCHMARK, REPRODUCTION, STRESS, BASELINE_STRESS)
}


def profile_named(*, name: str) -> RunProfile:
    """The profile called ``name``; ``LookupError`` for a name no profile has (a row written
    by a newer release, say), so nothing runs under guessed limits."""
    try:
        return PROFILES[name]
    except KeyError:
        raise LookupError(f"no run profile named {name!r}") from None


def profile_of(*, run: AlgorithmRun) -> RunProfile:
    return profile_named(name=run.profile)


def entry_profile_names() -> list[str]:
    """The profiles whose succeeded runs become a board entry (``RunProfile.makes_entry``)."""
    return [profile.name for profile in PROFILES.values() if profile.makes_entry]


def cell_profile_names() -> list[str]:
    """The profiles whose runs may be a transfer cell's run (``RunProfile.fills_cell``)."""
    return [profile.name for profile in PROFILES.values() if profile.fills_cell]


def served_by(*, task_name: str) -> tuple[RunProfile, ...]:
    """The profiles whose runs the Celery task ``task_name`` runs (its group), in
    :data:`PROFILES`' order."""
    return tuple(profile for profile in PROFILES.values() if profile.task_name == task_name)


# The profiles each Celery task that runs runs serves (its queue's runs), handed to the
# dispatch by the task itself (algorithms.tasks): one job type each
# (``algorithms.job_types.RUN_TYPES``).
ALGORITHM_RUNS: tuple[RunProfile, ...] = served_by(task_name=task_names.RUN_ALGORITHM)
BASELINE_RUNS: tuple[RunProfile, ...] = served_by(task_name=task_names.RUN_BASELINE)
RUN_GROUPS: tuple[tuple[RunProfile, ...], ...] = (ALGORITHM_RUNS, BASELINE_RUNS)


def _check_groups() -> None:
    """Every profile in exactly one group: run by one of the tasks that run runs."""
    grouped = [profile.name for group in RUN_GROUPS for profile in group]
    if sorted(grouped) != sorted(PROFILES):
        raise ImportError(f"run groups {grouped} do not hold each profile {list(PROFILES)} once")


_check_groups()


def served_with(*, profile: RunProfile) -> tuple[RunProfile, ...]:
    """The profiles served by the Celery task that runs ``profile``'s runs (its group)."""
    return served_by(task_name=profile.task_name)


def eligible_runs(*, served: list[RunProfile], worker: str | None = None) -> Q:
    """The runs of the ``served`` profiles a worker (``worker``: its node name; None: any)
    may claim now: each profile's ``eligible`` rule (e.g. the compute budget)."""
    condition = Q(pk__in=[])
    with budget.one_answer():  # several background profiles ask the one budget
        for profile in served:
            allowed = Q(profile=profile.name)
            if profile.eligible is not None:
                allowed &= profile.eligible(worker=worker)
            condition |= allowed
    return condition
