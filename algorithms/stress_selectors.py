"""Reads of stress runs (docs/organizers/stress.md): the robustness a run, a board entry or a
transfer cell shows.

The figures of a method on a task are its newest succeeded stress run's: the one compared
with that clean run when there is one, else the newest of the same version on the task's
current data. Shown per split: a board's own split; a run's ``all`` rows once the private
rows may be shown to the viewer, else only the copies of public rows (before the reveal only
copies of public-split rows count). The shape (the API's ``robustness``)::

    {"families": {name: {"score", "ratio", "flip_rate", "clean", "rows"}},
     "mean_ratio", "worst_family", "split", "rows", "run", "clean_run", "skipped"}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from algorithms.models import ACTIVE, STRESS_PROFILES, AlgorithmRun, AlgorithmRunStatus
from algorithms.services.stress_queue import StressOutlook, stress_outlook
from challenges.models import Challenge
from challenges.selectors import is_organizer
from scoring.selectors import User, public_scores_shown

ALL = "all"
PUBLIC = "public"
# What a clean run's robustness is (boards: ``robustness_state``): figures shown; a stress run
# queued, running or about to be queued by the tick (moving, with a bound on the health
# page); a stress run that failed (final, with its reason); none coming (final, with why).
READY, PENDING, FAILED, NONE = "ready", "pending", "failed", "none"
REASON_CHARS = 300


def robustness_split(*, challenge: Challenge, user: AbstractBaseUser | AnonymousUser) -> str:
    """The rows a viewer's robustness counts: every copy once private rows may be shown to
    them (organizers; everyone after the reveal), else copies of public rows only."""
    return ALL if is_organizer(user=user) or challenge.private_visible() else PUBLIC


def robustness_view(*, stress_run: AlgorithmRun | None, split: str) -> dict[str, Any] | None:
    """A stress run's figures on ``split`` in the API's shape; None without any."""
    if stress_run is None or stress_run.status != AlgorithmRunStatus.SUCCEEDED:
        return None
    record = stress_run.robustness or {}
    figures = (record.get("splits") or {}).get(split)
    if not figures:
        return None
    return {
        "families": figures.get("families") or {},
        "mean_ratio": figures.get("mean_ratio"),
        "worst_family": figures.get("worst_family"),
        "split": split,
        "rows": figures.get("rows"),
        "run": stress_run.pk,
        "clean_run": record.get("clean_run"),
        "skipped": record.get("skipped") or {},
    }


def _stress_runs(runs: Sequence[AlgorithmRun]) -> list[AlgorithmRun]:
    """Succeeded stress runs of the runs' versions on their tasks, newest first.

    One query over the versions and tasks named (a superset of the pairs), kept to the pairs
    here: an OR of one condition per pair is a SQL expression as deep as the matrix is
    large (SQLite refuses past 1,000; a 100 x 200 matrix has 20,000 pairs)."""
    pairs = {(run.version_id, run.task_id) for run in runs}
    if not pairs:
        return []
    found = (
        AlgorithmRun.objects.filter(
            version_id__in=sorted({v for v, _ in pairs}),
            task_id__in=sorted({t for _, t in pairs}),
            profile__in=STRESS_PROFILES,
            status=AlgorithmRunStatus.SUCCEEDED,
        )
        .select_related("task")
        .order_by("-finished_at", "-pk")
    )
    return [run for run in found if (run.version_id, run.task_id) in pairs]


def stress_runs_for(*, runs: Iterable[AlgorithmRun]) -> dict[int, AlgorithmRun | None]:
    """Run id -> the stress run whose figures it shows (itself for a stress run): the newest
    stress run of the run itself, else the newest of its version on its task's current data."""
    runs = list(runs)
    found: dict[int, AlgorithmRun | None] = {}
    clean = [run for run in runs if run.profile not in STRESS_PROFILES]
    own: dict[int, AlgorithmRun] = {}
    same: dict[tuple[int, int], AlgorithmRun] = {}
    for stress in _stress_runs(clean):  # newest first: the first of each key is kept
        if stress.stress_of_id is not None:
            own.setdefault(stress.stress_of_id, stress)
        if (stress.options or {}).get("data_version") == stress.task.data_version:
            same.setdefault((stress.version_id, stress.task_id), stress)
    for run in runs:
        if run.profile in STRESS_PROFILES:
            found[run.pk] = run
        else:
            found[run.pk] = own.get(run.pk) or same.get((run.version_id, run.task_id))
    return found


def robustness_for_runs(
    *, runs: Iterable[AlgorithmRun], split: str, user: User | None = None
) -> dict[int, dict | None]:
    """Run id -> its robustness on ``split`` (None: no stress run has finished yet). With
    ``user``, a run on a ladder board's task has none on the public split for a reader who
    may not see its exact public scores (its clean score is one, docs/organizers/ladder.md)."""
    runs = list(runs)
    found = stress_runs_for(runs=runs)
    shown = {pk: robustness_view(stress_run=s, split=split) for pk, s in found.items()}
    if user is not None and split == PUBLIC:
        for run in runs:
            if run.pk in shown and not public_scores_shown(task=run.task, user=user):
                shown[run.pk] = None
    return shown


def robustness_for_submissions(
    *, submission_ids: Iterable[int], split: str
) -> tuple[dict[int, dict | None], set[int]]:
    """Submission id -> the robustness of the run that made it, and the ids of the
    submissions a run made (the others are prediction files: "needs an algorithm")."""
    runs = list(
        AlgorithmRun.objects.filter(submission_id__in=list(submission_ids)).select_related("task")
    )
    shown = robustness_for_runs(runs=runs, split=split)
    return {run.submission_id: shown.get(run.pk) for run in runs}, {r.submission_id for r in runs}


@dataclass(frozen=True)
class RobustnessState:
    """Where a clean run's robustness stands (:data:`READY`, :data:`PENDING`,
    :data:`FAILED` or :data:`NONE`), with ``reason`` in words (failed: the stress run's
    error; none: why no stress run comes; pending: what it waits for), the stress run it
    speaks of, and since when a pending one waits."""

    state: str
    reason: str | None = None
    stress_run: AlgorithmRun | None = None
    since: datetime | None = None

    @property
    def final(self) -> bool:
        return self.state != PENDING


def _first_line(text: str) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + "…"


def _latest_stress_runs(runs: Sequence[AlgorithmRun]) -> dict[tuple[int, int], list[AlgorithmRun]]:
    """(version, task) -> its stress runs of any status, newest first (one query, kept to the
    pairs as :func:`_stress_runs` does)."""
    pairs = {(run.version_id, run.task_id) for run in runs}
    found: dict[tuple[int, int], list[AlgorithmRun]] = {}
    if not pairs:
        return found
    rows = AlgorithmRun.objects.filter(
        version_id__in=sorted({v for v, _ in pairs}),
        task_id__in=sorted({t for _, t in pairs}),
        profile__in=STRESS_PROFILES,
    ).order_by("-pk")
    for stress in rows:
        if (stress.version_id, stress.task_id) in pairs:
            found.setdefault((stress.version_id, stress.task_id), []).append(stress)
    return found


def _state_without_figures(
    run: AlgorithmRun, stresses: list[AlgorithmRun], outlook: StressOutlook
) -> RobustnessState:
    """The state of a clean run none of whose stress runs has figures to show (see
    :func:`robustness_states_for_runs`)."""
    data_version = run.task.data_version
    for stress in stresses:  # newest first
        options = stress.options or {}
        current = stress.stress_of_id == run.pk or options.get("data_version") == data_version
        if not current:
            continue
        if stress.status in ACTIVE:
            since = stress.started_at if stress.status == AlgorithmRunStatus.RUNNING else None
            return RobustnessState(
                PENDING,
                f"stress run #{stress.pk} {stress.status}",
                stress,
                since or stress.created_at,
            )
        if (
            stress.status == AlgorithmRunStatus.FAILED
            and outlook.refused is None
            and options.get("fingerprint") == outlook.fingerprint
        ):
            # Not retried by itself (docs/organizers/stress.md): final until new data or a new plan.
            reason = _first_line(stress.error) or "the stress run failed without a message"
            return RobustnessState(FAILED, reason, stress, stress.finished_at)
    if outlook.refused is not None:
        return RobustnessState(NONE, outlook.refused)
    if run.version_id not in outlook.versions:
        return RobustnessState(
            NONE,
            "only versions in the benchmark (and the AutoGluon baseline) get stress runs;"
            " this version is not in it",
        )
    clean = outlook.clean.get(run.version_id)
    if clean is None:
        return RobustnessState(
            NONE, "its run kept no scored predictions on the task's current data to compare with"
        )
    # The tick queues one at its next minute, compared with the version's newest clean run.
    return RobustnessState(
        PENDING, "waiting for the stress tick to queue its stress run", None, clean.finished_at
    )


def robustness_states_for_runs(*, runs: Iterable[AlgorithmRun]) -> dict[int, RobustnessState]:
    """Clean run id -> its :class:`RobustnessState`: :data:`READY` when a succeeded stress
    run has figures for it (:func:`stress_runs_for`), else the newest stress run of its
    version on its task's current data decides (queued or running: pending; failed with the
    current plan: failed, with its error), else the tick's rule (``stress_outlook``): a stress
    run it will queue is pending, one it never will is none, with the reason. A cancelled
    stress run is queued again by the tick, so it counts as none made yet."""
    runs = [run for run in runs if run.profile not in STRESS_PROFILES]
    shown = stress_runs_for(runs=runs)
    latest = _latest_stress_runs(runs)
    outlooks: dict[int, StressOutlook] = {}
    states: dict[int, RobustnessState] = {}
    for run in runs:
        stress = shown.get(run.pk)
        if stress is not None:
            states[run.pk] = RobustnessState(READY, None, stress, stress.finished_at)
            continue
        if run.task_id not in outlooks:
            outlooks[run.task_id] = stress_outlook(task=run.task)
        states[run.pk] = _state_without_figures(
            run, latest.get((run.version_id, run.task_id), []), outlooks[run.task_id]
        )
    return states


def robustness_states_for_submissions(
    *, submission_ids: Iterable[int], split: str
) -> dict[int, tuple[dict | None, RobustnessState]]:
    """Submission id -> the figures on ``split`` and the :class:`RobustnessState` of the run
    that made it, for the submissions a run made (the others are prediction files: "needs an
    algorithm"). A run whose succeeded stress run has no copy of ``split``'s rows has no
    figures there, and says so (state none)."""
    runs = list(
        AlgorithmRun.objects.filter(submission_id__in=list(submission_ids)).select_related(
            "task__track__challenge"
        )
    )
    states = robustness_states_for_runs(runs=runs)
    found: dict[int, tuple[dict | None, RobustnessState]] = {}
    for run in runs:
        state = states[run.pk]
        figures = (
            robustness_view(stress_run=state.stress_run, split=split)
            if state.state == READY
            else None
        )
        if state.state == READY and figures is None:
            state = RobustnessState(
                NONE, f"its stress run has no copy of a {split} row", state.stress_run, state.since
            )
        found[run.submission_id] = (figures, state)
    return found
