"""The transfer matrix of a track: every algorithm x every task, computed by the platform.

A cell is the run :func:`algorithms.selectors.transfer_cell_runs` names (the one rule:
never a reproduction; newest version, then newest data, then a success before a failure,
then the newest run): a team's run through the submission it made, an organizer's run
through the scores and predictions stored on the run. A scored one's value is the score minus the
task's baseline (the baseline entry of the task's board on the same split), oriented so
that a positive delta is better whatever the metric's direction, with a paired bootstrap
interval; each row ends with the algorithm's mean over the track's tasks it has a value on,
of the tasks' track values (``TaskKind.track_value``: the score itself for accuracy or F1,
R² clipped to [0, 1] for regression), so a track mixing kinds averages comparable numbers.
A **failed** one (the run failed, or its submission failed at scoring: the run follows it)
is shown as failed with the run's reason, never as "not run"; a run whose submission is
still being scored, and a cancelled run, say nothing about the algorithm and are passed
over. Where no finished run says anything, a **queued or running** run is shown as such
(``TransferRow.pending``), never as "not run": a task that just arrived shows its AutoGluon
baseline queued. Each task's baseline state (``TransferMatrix.baselines``: ``scored``,
``queued``, ``running``, ``failed``, ``not run``; :mod:`leaderboard.transfer.baselines`) says
why a cell's delta is still empty.
The private split is shown only when :func:`challenges.split_access.private_visible`
allows. On a ladder board's public split (docs/organizers/ladder.md) a cell is the exact public
score of a team's method, which the board hides from participants and the public until the
reveal: the matrix made for such a reader (``hidden``: the ids of those tasks,
``leaderboard.boards.shown.hidden_tasks``) keeps each cell's run and status but not its score, delta
or interval (:data:`LADDER_CELL` says why), and the row means, the decomposition and the
frontier are computed from the cells it keeps. The AutoGluon baseline's own cells stay, as
its board entry does. How the page and the API show the cells, and what the matrix withholds
in words: :mod:`leaderboard.transfer.shown`.

One cell is computed and cached in :mod:`leaderboard.transfer.cells`, by the ids of the two
prediction files, so a new run or a new baseline is a new key.

At company scale (100 algorithms x 200 tasks: 20,000 cells) the matrix reads what it shows
of its cells (the score, the baseline's, the delta and its interval) in one round trip
(``cache.get_many`` of each cell's summary); a cell's 1,000 row resamples, eight kilobytes
each, are read only by the decomposition when it is fitted
(:func:`cell_resamples`). A cell
computed anew is computed task by task, so every algorithm's cell on a task shares that
task's solution and resample counts. The matrix is assembled from one column per task
(:class:`TransferColumn`), kept under its task's fingerprint (``leaderboard.cache.transfer_cache``,
which also keeps the API's and the page's answers whole): a new cell reads its task's
column again, not every cell's run.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field

import numpy as np
from django.core.cache import cache
from django.db.models.fields.files import FieldFile

from algorithms.models import ACTIVE, STRESS_PROFILES, Algorithm, AlgorithmRun, AlgorithmRunStatus
from algorithms.selectors import runs_with_versions, transfer_cell_runs
from challenges.models import Track
from datasets.models import Task
from kinds import kind_get
from leaderboard.cache import transfer_cache
from leaderboard.core.bootstrap import has_bootstrap
from leaderboard.core.transfer import TransferCell
from leaderboard.models import LeaderboardEntry, Split
from leaderboard.transfer.baselines import BaselineState, baseline_entries, task_baseline_states
from leaderboard.transfer.cells import (
    Wanted,
    cell_compute,
    cell_key,
    cell_of_summary,
    cell_summary,
    measured_cells,
)

logger = logging.getLogger(__name__)

RUN_FIELDS = (
    "id",
    "status",
    "profile",
    "limit_hit",  # the failure's category (algorithms.failures): never the run's own words
    "exit_code",
    "cpu_seconds",
    "finished_at",
    "scores",
    "predictions",
    "manifest",  # its data version: which run is a cell's (algorithms.selectors)
    "phase",  # a blind phase's cells are withheld until the reveal (0066)
    "task",
    "version__number",
    "version__algorithm__name",
    "version__algorithm__challenge",
    "version__algorithm__team__name",
    "version__algorithm__team__is_baseline",
    "submission__status",
    "submission__predictions",
    "submission__scores",
)


@dataclass(frozen=True)
class TransferRow:
    algorithm: Algorithm
    cells: list[TransferCell | None]  # in task order (without their resamples)
    runs: list[AlgorithmRun | None]
    mean_delta: float | None
    mean_score: float | None
    covered: int
    # In task order: the queued or running run where no finished run says anything.
    pending: list[AlgorithmRun | None] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)  # each cell's cache key


@dataclass(frozen=True)
class TransferMatrix:
    track: Track
    split: str
    tasks: list[Task]
    rows: list[TransferRow]
    baselines: list[BaselineState] = field(default_factory=list)  # in task order
    # The baseline entry of each task that has one, by task id (what cells are measured from).
    baseline_entries: dict[int, LeaderboardEntry] = field(default_factory=dict)
    # Tasks whose teams' cells this matrix withholds (a ladder board's public split, for a
    # reader who may not see its exact scores): their runs and statuses, never their figures.
    hidden: frozenset[int] = frozenset()
    # Blind phases whose teams' cells this matrix withholds (not revealed, for a reader who is
    # not an organizer): a cell whose run belongs to one (docs/decisions/0066-phases.md).
    hidden_phases: frozenset[int] = frozenset()

    def withholds(self, task: Task, algorithm: Algorithm, run: AlgorithmRun | None = None) -> bool:
        """Whether ``algorithm``'s cell on ``task`` (its ``run``) is withheld: a team's, on a
        hidden task or made in a hidden blind phase."""
        return self.withheld_cell(task, algorithm, run) is not None

    def withheld_cell(
        self, task: Task, algorithm: Algorithm, run: AlgorithmRun | None = None
    ) -> str | None:
        """Why ``algorithm``'s cell on ``task`` (its ``run``) is withheld (None: it is not)."""
        if algorithm.team.is_baseline:
            return None
        if task.pk in self.hidden:
            return LADDER_CELL
        if run is not None and run.phase_id is not None and run.phase_id in self.hidden_phases:
            return BLIND_CELL
        return None

    @property
    def hidden_slugs(self) -> list[str]:
        return [task.slug for task in self.tasks if task.pk in self.hidden]

    def blind_withheld(self) -> bool:
        """Whether a cell of the matrix is withheld for its blind phase."""
        return any(
            run is not None and self.withheld_cell(task, row.algorithm, run) == BLIND_CELL
            for row in self.rows
            for task, run in zip(self.tasks, row.runs, strict=True)
        )


LADDER_CELL = (
    "hidden: the task's ladder board shows no exact public score until the private split is "
    "revealed, and this cell's score and delta are exact public figures "
    "(docs/organizers/ladder.md)"
)


BLIND_CELL = (
    "hidden: the run belongs to a blind phase, whose scores reach no participant before the "
    "organizers reveal the results (docs/participants/phases.md)"
)


def _pending_runs(tasks: list[Task]) -> dict[tuple[int, int], AlgorithmRun]:
    """(algorithm id, task id) -> the newest queued or running run (reproductions repeat a
    finished run, which speaks for them)."""
    runs = (
        AlgorithmRun.objects.filter(task__in=tasks, status__in=ACTIVE, reproduces__isnull=True)
        .exclude(profile__in=STRESS_PROFILES)  # their cells are the robustness view's
        .select_related("version__algorithm__team")
        .order_by("-version__number", "-pk")
    )
    pending: dict[tuple[int, int], AlgorithmRun] = {}
    for run in runs:
        pending.setdefault((run.version.algorithm_id, run.task_id), run)
    return pending


def _track_values(
    run: AlgorithmRun | None, task: Task, baseline: LeaderboardEntry, split: str, cell: TransferCell
) -> tuple[float | None, float | None]:
    """What the run's and the baseline's scores add to a track's mean (the row's means)."""
    kind, metric = kind_get(task.kind), task.primary_metric
    scores = (run.submission.scores if run and run.submission_id else run and run.scores) or {}
    return (
        kind.track_value(metric, cell.score, scores.get(split) or {}),
        kind.track_value(metric, cell.baseline, baseline.metrics or {}),
    )


def _wanted_cells(
    algorithms: list[Algorithm],
    tasks: list[Task],
    latest: dict[tuple[int, int], AlgorithmRun],
    baselines: dict[int, LeaderboardEntry],
) -> tuple[list[Wanted], dict[tuple[int, int], int]]:
    """The cells there is a delta for (a succeeded run, the task's baseline, a metric the
    bootstrap computes), algorithm by algorithm, and (algorithm, task) -> index among them."""
    wanted: list[Wanted] = []
    at: dict[tuple[int, int], int] = {}
    for algorithm in algorithms:
        for task in tasks:
            run = latest.get((algorithm.pk, task.pk))
            baseline = baselines.get(task.pk)
            if (
                run is not None
                and run.status == AlgorithmRunStatus.SUCCEEDED
                and baseline is not None
                and has_bootstrap(task.kind, task.primary_metric or None)
            ):
                at[(algorithm.pk, task.pk)] = len(wanted)
                wanted.append((run, task, baseline))
    return wanted, at


def _row(
    algorithm: Algorithm,
    *,
    tasks: list[Task],
    split: str,
    latest: dict[tuple[int, int], AlgorithmRun],
    pending: dict[tuple[int, int], AlgorithmRun],
    baselines: dict[int, LeaderboardEntry],
    measured: dict[tuple[int, int], tuple[TransferCell, str]],
) -> TransferRow:
    """``algorithm``'s row: its cells (``measured``: (algorithm, task) -> the cell and its
    cache key) and runs in task order, and its means over the tasks where both its score
    and the baseline's add to a track's mean."""
    cells: list[TransferCell | None] = []
    runs: list[AlgorithmRun | None] = []
    keys: list[str | None] = []
    values: list[tuple[float | None, float | None]] = []  # track values: run, baseline
    mine = algorithm.pk
    for task in tasks:
        pair = (mine, task.pk)
        run = latest.get(pair)
        runs.append(run)
        cell, key = measured.get(pair, (None, None))
        cells.append(cell)
        keys.append(key)
        if cell is not None:
            values.append(_track_values(run, task, baselines[task.pk], split, cell))
    known = [(v, b) for v, b in values if v is not None and b is not None]
    return TransferRow(
        algorithm=algorithm,
        cells=cells,
        runs=runs,
        mean_delta=float(np.mean([v - b for v, b in known])) if known else None,
        mean_score=float(np.mean([v for v, _ in known])) if known else None,
        covered=len(known),
        pending=[pending.get((mine, task.pk)) for task in tasks],
        keys=keys,
    )


@dataclass(frozen=True)
class TransferColumn:
    """One task's column of the matrix on a split, by algorithm id: the run that is the
    cell, the queued or running one where no finished run says anything, the measured cell
    with its cache key; and the task's baseline entry and state. ``complete``: every cell
    there is a delta for was computed (a column with a cell that failed is not kept)."""

    latest: dict[int, AlgorithmRun]
    pending: dict[int, AlgorithmRun]
    measured: dict[int, tuple[TransferCell, str]]
    baseline: LeaderboardEntry | None
    state: BaselineState
    complete: bool = True

    def __getstate__(self) -> dict:
        """Kept without each run's version, algorithm and team (three of a run's four
        instances to unpickle): :func:`transfer_matrix` reads them once per version; and
        each cell as its summary (a frozen dataclass unpickles ten times slower than it is
        made)."""
        state = dict(self.__dict__)
        for name in ("latest", "pending"):
            state[name] = {a: _without_version(run) for a, run in state[name].items()}
        state["measured"] = {
            a: (cell_summary(cell=c), key) for a, (c, key) in self.measured.items()
        }
        return state

    def __setstate__(self, state: dict) -> None:
        state["measured"] = {
            a: (cell_of_summary(summary=summary), key)
            for a, (summary, key) in state["measured"].items()
        }
        self.__dict__.update(state)


def _without_version(run: AlgorithmRun) -> AlgorithmRun:
    """A copy of ``run`` that holds its version's id, not the version read with it (nor
    anything leading back to it: its submission's way back to the run, a file field's
    instance)."""
    lean = _copy_of(run, drop="version")
    cached = lean._state.fields_cache
    if cached.get("submission") is not None:
        cached["submission"] = _copy_of(cached["submission"], drop="algorithm_run")
    return lean


def _copy_of(instance, *, drop: str):
    """A copy of a model instance without the related object ``drop`` and with its file
    fields as their names (a read file field holds the instance it was read from)."""
    copied = copy.copy(instance)  # its own state: the instance itself is left as it was
    copied._state.fields_cache.pop(drop, None)
    for name, value in list(copied.__dict__.items()):
        if isinstance(value, FieldFile):
            copied.__dict__[name] = value.name
    return copied


def _columns_computed(tasks: list[Task], split: str) -> dict[int, TransferColumn]:
    """The columns of ``tasks`` read from the database (and each cell's summary from the
    cell cache), in a fixed number of queries however many tasks."""
    latest = transfer_cell_runs(tasks=tasks, only=RUN_FIELDS)
    pending = {key: run for key, run in _pending_runs(tasks).items() if key not in latest}
    baselines = baseline_entries(tasks=tasks, split=split)
    algorithms = list({run.version.algorithm for run in latest.values()})
    wanted, at = _wanted_cells(algorithms, tasks, latest, baselines)
    computed = measured_cells(wanted=wanted, split=split)
    parts: dict[int, tuple[dict, dict, dict]] = {task.pk: ({}, {}, {}) for task in tasks}
    for (algorithm_id, task_id), run in latest.items():
        parts[task_id][0][algorithm_id] = run
    for (algorithm_id, task_id), run in pending.items():
        parts[task_id][1][algorithm_id] = run
    failed = set()
    for (algorithm_id, task_id), index in at.items():
        if computed[index] is None:
            failed.add(task_id)
        else:
            run, task, baseline = wanted[index]
            key = cell_key(run=run, task=task, baseline=baseline, split=split)
            parts[task_id][2][algorithm_id] = (computed[index], key)
    return {
        task.pk: TransferColumn(
            *parts[task.pk], baselines.get(task.pk), state, complete=task.pk not in failed
        )
        for task, state in zip(
            tasks, task_baseline_states(tasks=tasks, scored=set(baselines)), strict=True
        )
    }


def transfer_matrix(
    *,
    track: Track,
    split: str = Split.PUBLIC,
    hidden: frozenset[int] = frozenset(),
    hidden_phases: frozenset[int] = frozenset(),
) -> TransferMatrix:
    """Algorithms x tasks of ``track`` on ``split`` (the caller checks the split may be
    shown), without the teams' cells on the tasks of ``hidden`` (the module docstring) nor
    those of runs made in the blind phases of ``hidden_phases``.
    Tasks whose primary metric the bootstrap does not compute have no cells.

    Made of one column per task (:class:`TransferColumn`): a column whose task's runs,
    their submissions, its baseline entry and its fields are as when it was kept is read
    from the board cache (``leaderboard.cache.transfer_cache``); only the others are read from
    the database. So a new cell reads its task's column again, not the 20,000 cells."""
    tasks = list(track.tasks.order_by("order", "slug"))
    columns = transfer_cache.columns(
        tasks=tasks,
        split=split,
        challenge_id=track.challenge_id,
        compute=lambda missing: _columns_computed(missing, split),
    )
    runs_with_versions(  # a kept column's runs hold their versions' ids (TransferColumn)
        runs=[run for c in columns.values() for run in [*c.latest.values(), *c.pending.values()]]
    )
    latest, pending, measured = {}, {}, {}
    for task in tasks:
        column = columns[task.pk]
        latest |= {(a, task.pk): run for a, run in column.latest.items()}
        pending |= {(a, task.pk): run for a, run in column.pending.items()}
        measured |= {(a, task.pk): cell for a, cell in column.measured.items()}
    baselines = {
        task.pk: columns[task.pk].baseline
        for task in tasks
        if columns[task.pk].baseline is not None
    }
    by_version = {run.version_id: run for run in [*latest.values(), *pending.values()]}
    by_id = {run.version.algorithm_id: run.version.algorithm for run in by_version.values()}
    if hidden or hidden_phases:  # withheld before anything is computed from them (the means)
        measured = {
            (a, t): cell
            for (a, t), cell in measured.items()
            if by_id[a].team.is_baseline
            or (t not in hidden and _phase_of(latest.get((a, t))) not in hidden_phases)
        }
    algorithms = sorted(by_id.values(), key=lambda a: (a.team.name.lower(), a.name.lower(), a.pk))
    rows = [
        _row(
            algorithm,
            tasks=tasks,
            split=split,
            latest=latest,
            pending=pending,
            baselines=baselines,
            measured=measured,
        )
        for algorithm in algorithms
    ]
    rows.sort(key=lambda r: (r.mean_delta is None, -(r.mean_delta or 0.0)))
    return TransferMatrix(
        track=track,
        split=split,
        tasks=tasks,
        rows=rows,
        baselines=[columns[task.pk].state for task in tasks],
        baseline_entries=baselines,
        hidden=frozenset(hidden) & {task.pk for task in tasks},
        hidden_phases=frozenset(hidden_phases),
    )


def _phase_of(run: AlgorithmRun | None) -> int | None:
    return None if run is None else run.phase_id


def cell_resamples(*, matrix: TransferMatrix) -> dict[str, np.ndarray]:
    """Each scored cell's row resamples by its key (read only to fit the decomposition): in
    one round trip, any the cache lost computed again."""
    keys = [key for row in matrix.rows for key in row.keys if key is not None]
    found = cache.get_many(keys) if keys else {}
    out = {key: cell.resamples for key, cell in found.items() if cell.resamples is not None}
    tasks = {task.pk: task for task in matrix.tasks}
    for row in matrix.rows:
        for key, run in zip(row.keys, row.runs, strict=True):
            if key is None or key in out or run is None:
                continue
            try:
                cell = cell_compute(
                    run=run,
                    task=tasks[run.task_id],
                    baseline=matrix.baseline_entries[run.task_id],
                    split=matrix.split,
                )
            except Exception:
                logger.exception("transfer cell %s failed", key)
                continue
            if cell.resamples is not None:
                out[key] = cell.resamples
    return out
