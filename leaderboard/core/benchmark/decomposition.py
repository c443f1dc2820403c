"""What is the method and what is the data: the decomposition of a track's transfer matrix.

A cell is an algorithm's delta on a task: its score minus the AutoGluon baseline's on the
same rows, turned so that a positive delta is better than the baseline (``baseline - score``
for a lower-is-better metric). Over the observed cells the deltas are split as

    delta[a, t] = mean + effect[a] + effect[t] + interaction[a, t]

by least squares with sum-to-zero effects (`leaderboard.core.benchmark.additive`): the
algorithm effect is how far the algorithm's fitted mean over the tasks lies above the average
algorithm's, the task effect how far the task's fitted mean over the algorithms lies above the
average task's (negative: a task where beating the baseline is hard), the interaction what is
left. Only the largest connected group of cells is fitted; algorithms and tasks outside it
get no effect and a note saying why. A team's home advantage is the least-squares coefficient
of "its algorithm on a task it contributed", added to the model for every team at once
(`leaderboard.core.benchmark.home`).

Intervals (percentile, the leaderboard's rule) come from B resamples, b = 0 .. B - 1:

- rows: the caller's row resample b of every cell; b draws the same rows for every algorithm
  on one task (paired), independently across tasks;
- tasks: a Bayesian bootstrap of the fitted tasks, weights w[b] = T x Dirichlet(1, ..., 1),
  drawn from ``np.random.default_rng(seed)`` (continuous weights keep every algorithm in
  every resample, where drawing tasks with replacement would drop an algorithm observed on
  k tasks from about e^-k of them and leave its effect undefined there).

Algorithm effects, the mean and home advantages refit on both (rows b and task weights b);
task effects on the rows only (a task's own effect is about that task); the interaction share
on the task weights only (adding row noise would shift a share of variance upward, not only
widen it); ``noise_share`` is the share that row noise alone puts into the interaction.
docs/benchmark-statistics.md gives the formulas and the reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from leaderboard.core.benchmark.additive import components, fit_additive, interaction
from leaderboard.core.benchmark.home import (
    HomeAdvantage,
    home_advantages,
    home_coefficients,
    home_plan,
    home_teams,
)
from leaderboard.core.benchmark.intervals import (
    check_alpha,
    finite_number,
    finite_vector,
    percentile_interval,
)
from leaderboard.core.benchmark.transfer_bootstrap import transfer_samples
from leaderboard.core.ranking import TeamId

Interval = tuple[float, float]
_ZERO_VARIANCE = 1e-24  # a squared deviation per cell below this (in units of the largest
# delta) counts as no variance at all: equal deltas that differ only by rounding


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchmarkAlgorithm:
    name: str
    team: TeamId | None = None  # the team whose algorithm it is (for home advantage)


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchmarkTask:
    name: str
    owner: TeamId | None = None  # the team that contributed the task's data
    higher_is_better: bool = True  # the primary metric's direction: deltas are turned by it


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DeltaCell:
    """An algorithm's score minus the baseline's on one task, as the metric gives it."""

    algorithm: str
    task: str
    delta: float
    resamples: np.ndarray  # (B,): the delta on row resample b, the same rows for every algorithm


@dataclass(frozen=True, slots=True, kw_only=True)
class AlgorithmEffect:
    algorithm: str
    effect: float | None  # above the average algorithm; None when not comparable (see note)
    ci: Interval | None
    adjusted_delta: float | None  # mean + effect: its fitted delta on the average task
    adjusted_ci: Interval | None
    n_tasks: int  # tasks it has a cell on
    note: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskEffect:
    task: str
    effect: float | None  # above the average task (negative: the baseline is hard to beat)
    ci: Interval | None
    n_algorithms: int  # algorithms with a cell on it
    note: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CellFit:
    algorithm: str
    task: str
    delta: float  # turned: positive is better than the baseline
    fitted: float  # mean + algorithm effect + task effect
    interaction: float  # delta - fitted


@dataclass(frozen=True, slots=True, kw_only=True)
class Decomposition:
    mean: float | None  # the average algorithm's delta on the average task
    mean_ci: Interval | None
    algorithm_effects: tuple[AlgorithmEffect, ...]  # in input order
    task_difficulty: tuple[TaskEffect, ...]  # in input order
    interaction_share: float | None  # interaction SS / SS of the deltas around their mean
    interaction_share_ci: Interval | None
    noise_share: float | None  # the part of that share row noise alone would give
    home_advantage: tuple[HomeAdvantage, ...]
    cell_fits: tuple[CellFit, ...]  # the fitted cells, algorithms then tasks in input order
    excluded_cells: tuple[tuple[str, str], ...]  # (algorithm, task) outside the fitted group
    residual_df: int  # fitted cells - algorithms - tasks + 1: the interaction's freedom
    n_resamples: int
    alpha: float
    seed: int
    tasks_resampled: bool  # False with a single fitted task: rows only
    note: str | None  # why the interaction share is missing, when it is


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _Matrix:
    """Deltas turned positive-is-better, on the input's algorithms x tasks."""

    point: np.ndarray  # (A, T)
    observed: np.ndarray  # (A, T) bool
    cells: list[tuple[int, int, float, np.ndarray]]  # (a, t, sign, the B resampled deltas)
    n_resamples: int

    def resamples(self, algorithms: np.ndarray, tasks: np.ndarray) -> np.ndarray:
        """(B, A', T') turned resampled deltas of the given algorithms and tasks, filled
        cell by cell (no (B, A, T) array of the whole input is ever built)."""
        out = np.zeros((self.n_resamples, algorithms.size, tasks.size))
        row = {int(a): i for i, a in enumerate(algorithms)}
        column = {int(t): j for j, t in enumerate(tasks)}
        for a, t, sign, drawn in self.cells:
            if a in row and t in column:
                np.multiply(drawn, sign, out=out[:, row[a], column[t]])
        return out


def _index(names: Sequence[str], what: str) -> dict[str, int]:
    index: dict[str, int] = {}
    for name in names:
        if name in index:
            raise ValueError(f"{what} {name!r} is listed twice")
        index[name] = len(index)
    return index


def _matrix(
    cells: Sequence[DeltaCell],
    algorithms: dict[str, int],
    tasks: dict[str, int],
    higher_is_better: Sequence[bool],
) -> _Matrix:
    sign_of = [1.0 if higher else -1.0 for higher in higher_is_better]
    shape = (len(algorithms), len(tasks))
    point, observed = np.zeros(shape), np.zeros(shape, dtype=bool)
    kept: list[tuple[int, int, float, np.ndarray]] = []
    n_resamples: int | None = None
    for cell in cells:
        where = f"cell ({cell.algorithm!r}, {cell.task!r})"
        if cell.algorithm not in algorithms:
            raise ValueError(f"{where}: unknown algorithm {cell.algorithm!r}")
        if cell.task not in tasks:
            raise ValueError(f"{where}: unknown task {cell.task!r}")
        a, t = algorithms[cell.algorithm], tasks[cell.task]
        if observed[a, t]:
            raise ValueError(f"{where} is given twice")
        delta = finite_number(cell.delta, what=f"{where} delta")
        drawn = finite_vector(cell.resamples, length=n_resamples, what=f"{where} resamples")
        if n_resamples is None:
            if drawn.shape[0] == 0:
                raise ValueError(f"{where} has no resamples: intervals need at least one")
            n_resamples = drawn.shape[0]
        point[a, t], observed[a, t] = delta * sign_of[t], True
        kept.append((a, t, sign_of[t], drawn))
    return _Matrix(point=point, observed=observed, cells=kept, n_resamples=n_resamples or 0)


def _main_component(observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the algorithms and tasks of the component with the most cells (then the
    most algorithms, then the one holding the earliest algorithm)."""
    algorithm_labels, task_labels = components(observed)
    cell_labels = algorithm_labels[np.nonzero(observed)[0]]
    n_labels = int(algorithm_labels.max()) + 1
    cells = np.bincount(cell_labels, minlength=n_labels)
    members = np.bincount(algorithm_labels[algorithm_labels >= 0], minlength=n_labels)
    main = min(range(n_labels), key=lambda label: (-cells[label], -members[label], label))
    return np.flatnonzero(algorithm_labels == main), np.flatnonzero(task_labels == main)


def _interval(samples: np.ndarray, alpha: float) -> list[Interval]:
    low, high = percentile_interval(samples, alpha=alpha)
    low, high = np.atleast_1d(low), np.atleast_1d(high)
    return [(float(lo), float(hi)) for lo, hi in zip(low, high, strict=True)]


def decompose_transfer(
    *,
    algorithms: Sequence[BenchmarkAlgorithm],
    tasks: Sequence[BenchmarkTask],
    cells: Sequence[DeltaCell],
    alpha: float = 0.05,
    seed: int = 0,
) -> Decomposition:
    """Split the deltas of ``cells`` into algorithm, task and interaction (module docstring).

    Every cell carries the same number B >= 1 of row resamples. Refused with ValueError:
    an unknown or repeated name, a repeated cell, a delta or resample that is not a finite
    number, cells with different B, alpha outside (0, 1).
    """
    check_alpha(alpha)
    algorithm_index = _index([a.name for a in algorithms], "algorithm")
    task_index = _index([t.name for t in tasks], "task")
    matrix = _matrix(cells, algorithm_index, task_index, [t.higher_is_better for t in tasks])
    if not matrix.observed.any():
        return _empty(algorithms, tasks, alpha=alpha, seed=seed)
    fitted_algorithms, fitted_tasks = _main_component(matrix.observed)
    part = np.ix_(fitted_algorithms, fitted_tasks)
    observed, point = matrix.observed[part], matrix.point[part]
    resamples = matrix.resamples(fitted_algorithms, fitted_tasks)
    n_algorithms, n_tasks = observed.shape
    residual_df = int(observed.sum()) - n_algorithms - n_tasks + 1
    # Fit in units of the largest delta: squared RMSE deltas of 1e200 (wild predictions of a
    # regression team) would overflow. Effects are linear in the deltas and scaled back.
    unit = float(max(np.abs(point).max(), np.abs(resamples).max(initial=0.0))) or 1.0
    scaled = point / unit
    resamples /= unit

    plan = home_plan(
        teams=home_teams([a.team for a in algorithms], [t.owner for t in tasks]),
        row_teams=[algorithms[i].team for i in fitted_algorithms],
        column_owners=[tasks[j].owner for j in fitted_tasks],
        observed=observed,
    )
    home = plan.indicators
    point_fit = fit_additive(values=np.concatenate([scaled[None], home]), observed=observed)
    residual = interaction(
        values=scaled[None], fit=point_fit.select(slice(0, 1)), observed=observed
    )
    samples = transfer_samples(
        point=scaled,
        resamples=resamples,
        observed=observed,
        home=home,
        point_interaction=residual[0, 0],
        seed=seed,
    )
    home_values = (
        home_coefficients(
            indicators=home,
            weights=np.ones((1, n_tasks)),
            interaction=residual[:, 0],
            indicator_fit=point_fit.select(slice(1, None)),
        )[0]
        if home.shape[0]
        else np.zeros(0)
    )
    deviations = (scaled - scaled[observed].mean()) * observed
    spread = float(np.sum(deviations**2))
    share, share_ci, noise_share, note = None, None, None, None
    if residual_df == 0:
        note = (
            "no interaction can be measured: every cell is needed to place the algorithm and "
            "task effects (each algorithm-task comparison is made only once)"
        )
    elif spread <= _ZERO_VARIANCE * observed.sum():
        note = "every delta is the same: there is no variance to share"
    else:
        share = float(np.sum(residual[0, 0] ** 2)) / spread
        noise_share = min(samples.noise_ss / spread, 1.0)
        if samples.share is not None:
            share_ci = _interval(samples.share, alpha)[0]

    cell_interaction = residual[0, 0] * unit
    level_samples = unit * (samples.mean if samples.mean is not None else samples.row_mean)
    effect_samples = unit * (
        samples.algorithm if samples.algorithm is not None else samples.row_algorithm
    )
    mean = float(point_fit.mean[0, 0]) * unit
    return Decomposition(
        mean=mean,
        mean_ci=_interval(level_samples, alpha)[0],
        algorithm_effects=_algorithm_effects(
            algorithms=algorithms,
            observed=matrix.observed,
            fitted=fitted_algorithms,
            effects=point_fit.algorithm[0, 0] * unit,
            mean=mean,
            effect_ci=_interval(effect_samples, alpha),
            adjusted_ci=_interval(effect_samples + level_samples[:, None], alpha),
        ),
        task_difficulty=_task_effects(
            tasks=tasks,
            observed=matrix.observed,
            fitted=fitted_tasks,
            effects=point_fit.task[0, 0] * unit,
            effect_ci=_interval(samples.row_task * unit, alpha),
        ),
        interaction_share=share,
        interaction_share_ci=share_ci,
        noise_share=noise_share,
        home_advantage=home_advantages(
            plan=plan,
            values=home_values * unit,
            intervals=[] if samples.home is None else _interval(samples.home * unit, alpha),
        ),
        cell_fits=tuple(
            CellFit(
                algorithm=algorithms[fitted_algorithms[a]].name,
                task=tasks[fitted_tasks[t]].name,
                delta=float(point[a, t]),
                fitted=float(point[a, t] - cell_interaction[a, t]),
                interaction=float(cell_interaction[a, t]),
            )
            for a, t in zip(*np.nonzero(observed), strict=True)
        ),
        excluded_cells=_excluded(algorithms, tasks, matrix.observed, fitted_algorithms),
        residual_df=residual_df,
        n_resamples=resamples.shape[0],
        alpha=alpha,
        seed=seed,
        tasks_resampled=samples.mean is not None,
        note=note,
    )


def _placement(
    counts: np.ndarray, fitted: np.ndarray, *, no_cell: str, outside: str, only: str
) -> list[tuple[int | None, str | None]]:
    """Per algorithm (or task): its position in the fitted group and the note to show.
    ``counts`` are its cells; ``fitted`` the indices the fit kept."""
    position = {int(i): p for p, i in enumerate(fitted)}
    out: list[tuple[int | None, str | None]] = []
    for i, count in enumerate(counts):
        p = position.get(i)
        if p is None:
            out.append((None, no_cell if count == 0 else outside))
        else:
            out.append((p, only if fitted.size == 1 else None))
    return out


def _algorithm_effects(
    *,
    algorithms: Sequence[BenchmarkAlgorithm],
    observed: np.ndarray,
    fitted: np.ndarray,
    effects: np.ndarray,
    mean: float,
    effect_ci: list[Interval],
    adjusted_ci: list[Interval],
) -> tuple[AlgorithmEffect, ...]:
    counts = observed.sum(axis=1)
    placement = _placement(
        counts,
        fitted,
        no_cell="no cell: it has no delta on any task",
        outside="not comparable with the others: no algorithm of the fitted group ran any of "
        "its tasks, so nothing places its effect against theirs",
        only="the only algorithm fitted: its effect is 0 by definition (effects are relative "
        "to the average algorithm); adjusted_delta is its fitted delta on the average task",
    )
    return tuple(
        AlgorithmEffect(
            algorithm=algorithm.name,
            effect=None if p is None else float(effects[p]),
            ci=None if p is None else effect_ci[p],
            adjusted_delta=None if p is None else mean + float(effects[p]),
            adjusted_ci=None if p is None else adjusted_ci[p],
            n_tasks=int(count),
            note=note,
        )
        for algorithm, count, (p, note) in zip(algorithms, counts, placement, strict=True)
    )


def _task_effects(
    *,
    tasks: Sequence[BenchmarkTask],
    observed: np.ndarray,
    fitted: np.ndarray,
    effects: np.ndarray,
    effect_ci: list[Interval],
) -> tuple[TaskEffect, ...]:
    counts = observed.sum(axis=0)
    placement = _placement(
        counts,
        fitted,
        no_cell="no cell: no algorithm has a delta on it",
        outside="not comparable with the others: the algorithms that ran it ran no task of "
        "the fitted group",
        only="the only task fitted: its effect is 0 by definition (relative to the average task)",
    )
    return tuple(
        TaskEffect(
            task=task.name,
            effect=None if p is None else float(effects[p]),
            ci=None if p is None else effect_ci[p],
            n_algorithms=int(count),
            note=note,
        )
        for task, count, (p, note) in zip(tasks, counts, placement, strict=True)
    )


def _excluded(
    algorithms: Sequence[BenchmarkAlgorithm],
    tasks: Sequence[BenchmarkTask],
    observed: np.ndarray,
    fitted_algorithms: np.ndarray,
) -> tuple[tuple[str, str], ...]:
    outside = observed.copy()
    outside[fitted_algorithms] = False
    return tuple(
        (algorithms[a].name, tasks[t].name) for a, t in zip(*np.nonzero(outside), strict=True)
    )


def _empty(
    algorithms: Sequence[BenchmarkAlgorithm],
    tasks: Sequence[BenchmarkTask],
    *,
    alpha: float,
    seed: int,
) -> Decomposition:
    """No cell at all: every effect absent, with the reason."""
    nothing = np.zeros(0, dtype=np.int64)
    observed = np.zeros((len(algorithms), len(tasks)), dtype=bool)
    plan = home_plan(
        teams=home_teams([a.team for a in algorithms], [t.owner for t in tasks]),
        row_teams=[],
        column_owners=[],
        observed=np.zeros((0, 0), dtype=bool),
    )
    return Decomposition(
        mean=None,
        mean_ci=None,
        algorithm_effects=_algorithm_effects(
            algorithms=algorithms,
            observed=observed,
            fitted=nothing,
            effects=np.zeros(0),
            mean=0.0,
            effect_ci=[],
            adjusted_ci=[],
        ),
        task_difficulty=_task_effects(
            tasks=tasks, observed=observed, fitted=nothing, effects=np.zeros(0), effect_ci=[]
        ),
        interaction_share=None,
        interaction_share_ci=None,
        noise_share=None,
        home_advantage=home_advantages(plan=plan, values=np.zeros(0), intervals=[]),
        cell_fits=(),
        excluded_cells=(),
        residual_df=0,
        n_resamples=0,
        alpha=alpha,
        seed=seed,
        tasks_resampled=False,
        note="no cell: nothing to decompose",
    )
