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

Intervals come from the model (`leaderboard.core.benchmark.linear_model`): the deltas'
error is everything the effects leave, the interaction and the row noise of every cell
together, one variance for all cells; statsmodels' OLS fits the sum-coded design and every
effect gets a t interval on the residual degrees of freedom (cells - algorithms - tasks + 1).
So the task-to-task variation of a contrast is in its interval: a claim about an algorithm
rests on how far the cells stray from the model, not on reweighting the few tasks there are.

- algorithm effects, task effects, the interaction share: the two-way model
  (``MODEL``);
- home advantages: the same model with one indicator per team (``HOME_MODEL``), fitted
  jointly;
- the mean delta: the mean of the tasks' fitted levels, with a t interval on tasks - 1
  degrees of freedom (``MEAN_MODEL``: the tasks taken as drawn from many like them; the
  tasks' own effects do not cancel in a mean, as they do in a contrast);
- ``noise_share``: the part of the interaction that row noise alone would put there, from
  the caller's row resamples (``NOISE_MODEL``), reported beside, never added in.

An interval the data cannot support is None with a ``reason``: fewer than 2 residual degrees
of freedom, a fit that leaves no variance, an effect that is 0 by definition, a team whose
home advantage the cells cannot separate from the effects. docs/developers/benchmark-statistics.md
gives the formulas, the coverage the tests measure and the references.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from leaderboard.core.benchmark.additive import components
from leaderboard.core.benchmark.effects import (
    AlgorithmEffect,
    TaskEffect,
    algorithm_effects,
    scaled_interval,
    shared_row_variance,
    task_effects,
)
from leaderboard.core.benchmark.home import (
    HomeAdvantage,
    HomePlan,
    home_advantages,
    home_plan,
    home_teams,
)
from leaderboard.core.benchmark.intervals import check_alpha, finite_number, finite_vector
from leaderboard.core.benchmark.linear_model import (
    Contrasts,
    effect_contrasts,
    mean_of_levels,
    ols_contrasts,
    two_way_design,
)
from leaderboard.core.benchmark.transfer_bootstrap import row_noise_ss
from leaderboard.core.ranking import TeamId

Interval = tuple[float, float]
_ZERO_VARIANCE = 1e-24  # a squared deviation per cell below this (in units of the largest
# delta) counts as no variance at all: equal deltas that differ only by rounding

MODEL = "two-way-ols"  # delta = mean + algorithm + task + error; OLS, sum-to-zero, t on df
HOME_MODEL = "two-way-ols+home"  # the same with one home indicator per team, jointly
MEAN_MODEL = "task-levels-t"  # the mean of the tasks' levels, t on tasks - 1 df
NOISE_MODEL = "row-resamples"  # the interaction's variance across the row resamples
SHARE_REASON = (
    "the interaction share describes these cells (1 - R^2 of the two-way model); it is not "
    "an estimate of a quantity beyond them, so it has no interval"
)


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
    interaction_share_ci: Interval | None  # always None: a description, not an estimate
    noise_share: float | None  # the part of that share row noise alone would give
    home_advantage: tuple[HomeAdvantage, ...]
    cell_fits: tuple[CellFit, ...]  # the fitted cells, algorithms then tasks in input order
    excluded_cells: tuple[tuple[str, str], ...]  # (algorithm, task) outside the fitted group
    residual_df: int  # fitted cells - algorithms - tasks + 1: the interaction's freedom
    n_resamples: int
    alpha: float
    seed: int
    note: str | None  # why the interaction share is missing, when it is
    model: str = MODEL  # the model of the effects' point values and intervals
    residual_sd: float | None = None  # the two-way model's error SD (interaction + noise)
    home_residual_df: int | None = None  # the home model's, when a team has a coefficient
    mean_reason: str | None = None  # why mean_ci is None
    interaction_share_reason: str | None = None  # why interaction_share_ci is None
    noise_share_reason: str | None = None  # why noise_share is None


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


def decompose_transfer(
    *,
    algorithms: Sequence[BenchmarkAlgorithm],
    tasks: Sequence[BenchmarkTask],
    cells: Sequence[DeltaCell],
    alpha: float = 0.05,
    seed: int = 0,
) -> Decomposition:
    """Split the deltas of ``cells`` into algorithm, task and interaction (module docstring).

    Every cell carries the same number B >= 1 of row resamples (they measure the row noise,
    ``noise_share``). ``seed`` is kept in the result for the record: no figure here is
    random. Refused with ValueError: an unknown or repeated name, a repeated cell, a delta
    or resample that is not a finite number, cells with different B, alpha outside (0, 1).
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
    # Fit in units of the largest delta: squared RMSE deltas of 1e200 (wild predictions of a
    # regression team) would overflow. Effects are linear in the deltas and scaled back.
    unit = float(max(np.abs(point).max(), np.abs(resamples).max(initial=0.0))) or 1.0
    scaled = point / unit
    resamples /= unit

    two_way, residual = ols_contrasts(
        y=scaled[observed],
        design=two_way_design(observed),
        contrasts=effect_contrasts(n_algorithms, n_tasks),
        alpha=alpha,
        what="the two-way model (mean + algorithm + task)",
    )
    interaction = np.zeros(observed.shape)
    interaction[observed] = residual
    residual_df = two_way.residual_df
    plan = home_plan(
        teams=home_teams([a.team for a in algorithms], [t.owner for t in tasks]),
        row_teams=[algorithms[i].team for i in fitted_algorithms],
        column_owners=[tasks[j].owner for j in fitted_tasks],
        observed=observed,
    )
    home = _home(plan, scaled, observed, alpha)
    mean = float(two_way.estimate[0])
    task_levels = mean + two_way.estimate[1 + n_algorithms :]
    _, mean_se, mean_ci, mean_reason = mean_of_levels(task_levels, alpha=alpha)
    share, noise_share, note, noise_reason = _shares(
        scaled=scaled,
        observed=observed,
        interaction=interaction,
        resamples=resamples,
        residual_df=residual_df,
        names=(
            [algorithms[i].name for i in fitted_algorithms],
            [tasks[j].name for j in fitted_tasks],
        ),
    )
    cell_interaction = interaction * unit
    return Decomposition(
        mean=mean * unit,
        mean_ci=scaled_interval(mean_ci, unit),
        algorithm_effects=algorithm_effects(
            algorithms=[a.name for a in algorithms],
            observed=matrix.observed,
            fitted=fitted_algorithms,
            fit=two_way,
            unit=unit,
            mean_se=mean_se,
            n_tasks_fitted=n_tasks,
            alpha=alpha,
        ),
        task_difficulty=task_effects(
            tasks=[t.name for t in tasks],
            observed=matrix.observed,
            fitted=fitted_tasks,
            fit=two_way,
            offset=1 + n_algorithms,
            unit=unit,
            shared=shared_row_variance(resamples, observed),
            alpha=alpha,
        ),
        interaction_share=share,
        interaction_share_ci=None,
        noise_share=noise_share,
        home_advantage=home_advantages(
            plan=plan,
            values=np.zeros(0) if home is None else home.estimate * unit,
            intervals=[]
            if home is None
            else [scaled_interval(home.interval(i), unit) for i in range(len(plan.estimated))],
            reason=None if home is None else home.reason,
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
        note=note,
        residual_sd=(
            float(np.sqrt(two_way.residual_ss / residual_df)) * unit if residual_df > 0 else None
        ),
        home_residual_df=None if home is None else home.residual_df,
        mean_reason=mean_reason,
        interaction_share_reason=SHARE_REASON if share is not None else note,
        noise_share_reason=noise_reason,
    )


def _home(
    plan: HomePlan, scaled: np.ndarray, observed: np.ndarray, alpha: float
) -> Contrasts | None:
    """The home advantages of the teams ``plan`` estimates, from the joint model."""
    n_teams = plan.indicators.shape[0]
    if not n_teams:
        return None
    n_algorithms, n_tasks = observed.shape
    fit, _ = ols_contrasts(
        y=scaled[observed],
        design=two_way_design(observed, plan.indicators),
        contrasts=effect_contrasts(n_algorithms, n_tasks, n_teams)[1 + n_algorithms + n_tasks :],
        alpha=alpha,
        what="the model with home advantages (two-way + one indicator per team)",
    )
    return fit


def _shares(
    *,
    scaled: np.ndarray,
    observed: np.ndarray,
    interaction: np.ndarray,
    resamples: np.ndarray,
    residual_df: int,
    names: tuple[list[str], list[str]],
) -> tuple[float | None, float | None, str | None, str | None]:
    """(interaction share, noise share, why the share is missing, why the noise share is)."""
    deviations = (scaled - scaled[observed].mean()) * observed
    spread = float(np.sum(deviations**2))
    if residual_df == 0:
        note = (
            "no interaction can be measured: every cell is needed to place the algorithm and "
            "task effects (each algorithm-task comparison is made only once)"
        )
        return None, None, note, note
    if spread <= _ZERO_VARIANCE * observed.sum():
        note = "every delta is the same: there is no variance to share"
        return None, None, note, note
    share = float(np.sum(interaction**2)) / spread
    flat = resamples.reshape(resamples.shape[0], -1)
    still = np.flatnonzero(observed.ravel() & (np.ptp(flat, axis=0) == 0) & (scaled.ravel() != 0))
    if still.size:
        a, t = np.unravel_index(still[0], observed.shape)
        return (
            share,
            None,
            None,
            f"the cell of {names[0][a]!r} on {names[1][t]!r} has the same delta on every row "
            f"resample ({still.size} such cell{'s' if still.size > 1 else ''}): its row noise "
            "cannot be measured (too few test rows to resample)",
        )
    noise = row_noise_ss(resamples=resamples, observed=observed, point_interaction=interaction)
    return share, min(noise / spread, 1.0), None, None


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
        algorithm_effects=algorithm_effects(
            algorithms=[a.name for a in algorithms],
            observed=observed,
            fitted=nothing,
            fit=None,
            unit=1.0,
            mean_se=None,
            n_tasks_fitted=0,
            alpha=alpha,
        ),
        task_difficulty=task_effects(
            tasks=[t.name for t in tasks],
            observed=observed,
            fitted=nothing,
            fit=None,
            offset=0,
            unit=1.0,
        ),
        interaction_share=None,
        interaction_share_ci=None,
        noise_share=None,
        home_advantage=home_advantages(
            plan=plan, values=np.zeros(0), intervals=[], reason=None
        ),
        cell_fits=(),
        excluded_cells=(),
        residual_df=0,
        n_resamples=0,
        alpha=alpha,
        seed=seed,
        note="no cell: nothing to decompose",
        mean_reason="no cell: nothing to decompose",
        interaction_share_reason="no cell: nothing to decompose",
        noise_share_reason="no cell: nothing to decompose",
    )
