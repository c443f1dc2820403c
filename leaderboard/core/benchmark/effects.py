"""Each algorithm's and each task's row of a decomposition: its place in the fitted group
(or the note why it has none), its effect and its interval (or the reason why none).

The effects and their model intervals come from `linear_model` (the two-way model: an
estimate and a standard error per contrast). Two intervals add a second source:

- the adjusted delta (mean + algorithm effect) adds the mean's standard error, across the
  tasks' levels, to the effect's (Welch-Satterthwaite degrees of freedom);
- a task effect adds the row noise every cell of the task shares (`shared_row_variance`),
  which the task effect takes whole and the model's error never sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from leaderboard.core.benchmark.linear_model import Contrasts, welch_intervals

Interval = tuple[float, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class AlgorithmEffect:
    algorithm: str
    effect: float | None  # above the average algorithm; None when not comparable (see note)
    ci: Interval | None
    adjusted_delta: float | None  # mean + effect: its fitted delta on the average task
    adjusted_ci: Interval | None
    n_tasks: int  # tasks it has a cell on
    note: str | None  # why there is no effect, or why it is 0 by definition
    reason: str | None = None  # why ci is None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskEffect:
    task: str
    effect: float | None  # above the average task (negative: the baseline is hard to beat)
    ci: Interval | None
    n_algorithms: int  # algorithms with a cell on it
    note: str | None
    reason: str | None = None  # why ci is None


def scaled_interval(ci: Interval | None, unit: float) -> Interval | None:
    return None if ci is None else (ci[0] * unit, ci[1] * unit)


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


def algorithm_effects(
    *,
    algorithms: Sequence[str],  # names, in input order
    observed: np.ndarray,
    fitted: np.ndarray,
    fit: Contrasts | None,
    unit: float,
    mean_se: float | None,
    n_tasks_fitted: int,
    alpha: float,
) -> tuple[AlgorithmEffect, ...]:
    """One effect per algorithm: ``fit`` holds the mean, then the fitted algorithms' effects
    (None: nothing fitted)."""
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
    adjusted_low = adjusted_high = None
    if fit is not None and fit.se is not None and mean_se is not None:
        n_fitted = fitted.size
        adjusted_low, adjusted_high = welch_intervals(
            fit.estimate[0] + fit.estimate[1 : 1 + n_fitted],
            [
                (np.full(n_fitted, mean_se), n_tasks_fitted - 1),
                (fit.se[1 : 1 + n_fitted], fit.residual_df),
            ],
            alpha=alpha,
        )
    out = []
    for algorithm, count, (p, note) in zip(algorithms, counts, placement, strict=True):
        if p is None or fit is None:
            out.append(
                AlgorithmEffect(
                    algorithm=algorithm,
                    effect=None,
                    ci=None,
                    adjusted_delta=None,
                    adjusted_ci=None,
                    n_tasks=int(count),
                    note=note,
                    reason=note,
                )
            )
            continue
        effect, mean = float(fit.estimate[1 + p]), float(fit.estimate[0])
        ci = None if note is not None else scaled_interval(fit.interval(1 + p), unit)
        adjusted = None
        if ci is not None and adjusted_low is not None and adjusted_high is not None:
            adjusted = (float(adjusted_low[p]) * unit, float(adjusted_high[p]) * unit)
        out.append(
            AlgorithmEffect(
                algorithm=algorithm,
                effect=effect * unit,
                ci=ci,
                adjusted_delta=(mean + effect) * unit,
                adjusted_ci=adjusted,
                n_tasks=int(count),
                note=note,
                reason=None if ci is not None else (note or fit.reason),
            )
        )
    return tuple(out)


def shared_row_variance(resamples: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """(T,) the variance of each task effect from the row noise its cells share.

    Row resample b moves every delta of a task together (the baseline's rows, and what the
    algorithms get wrong together, are the same for all of them): a shift the task effect
    takes whole and the two-way model's error never sees. Its variance C[t] is the average
    covariance, across the resamples, of two algorithms' deltas on the task (the variance
    of the one cell when only one algorithm ran it); a task effect, centred on the average
    task, carries C[t] (1 - 2/T) + sum_s C[s] / T^2.
    """
    n_tasks = observed.shape[1]
    moved = (resamples - resamples.mean(axis=0)) * observed
    per_cell = (moved**2).mean(axis=0).sum(axis=0)  # (T,) sum over algorithms of variances
    together = (moved.sum(axis=1) ** 2).mean(axis=0)  # (T,) variance of the task's sum
    n = observed.sum(axis=0)
    pairs = np.maximum(n * (n - 1), 1)
    shared = np.where(n > 1, (together - per_cell) / pairs, per_cell)
    shared = np.maximum(shared, 0.0)
    return shared * (1 - 2 / n_tasks) + shared.sum() / n_tasks**2


def task_effects(
    *,
    tasks: Sequence[str],  # names, in input order
    observed: np.ndarray,
    fitted: np.ndarray,
    fit: Contrasts | None,
    offset: int,
    unit: float,
    shared: np.ndarray | None = None,
    alpha: float = 0.05,
) -> tuple[TaskEffect, ...]:
    """One effect per task: the fitted tasks' effects are ``fit``'s from ``offset`` on; each
    interval adds the ``shared`` row variance of its effect to the model's (Welch)."""
    counts = observed.sum(axis=0)
    placement = _placement(
        counts,
        fitted,
        no_cell="no cell: no algorithm has a delta on it",
        outside="not comparable with the others: the algorithms that ran it ran no task of "
        "the fitted group",
        only="the only task fitted: its effect is 0 by definition (relative to the average task)",
    )
    out = []
    low = high = None
    if fit is not None and fit.se is not None and shared is not None:
        n_fitted = fitted.size
        low, high = welch_intervals(
            fit.estimate[offset : offset + n_fitted],
            [(fit.se[offset : offset + n_fitted], fit.residual_df), (np.sqrt(shared), np.inf)],
            alpha=alpha,
        )
    out = []
    for task, count, (p, note) in zip(tasks, counts, placement, strict=True):
        placed = p is not None and fit is not None
        ci = None
        if placed and note is None and low is not None and high is not None:
            ci = (float(low[p]) * unit, float(high[p]) * unit)
        out.append(
            TaskEffect(
                task=task,
                effect=float(fit.estimate[offset + p]) * unit if placed else None,
                ci=ci,
                n_algorithms=int(count),
                note=note,
                reason=None if ci is not None else (note or (fit.reason if fit else None)),
            )
        )
    return tuple(out)
