"""OPIS: threshold consistency across groups (DESIGN §11; Zhang et al., ICLR 2024).

Lower is better. On the grid t_k = lo + k (hi - lo) / 100, k = 0..100, a row is predicted
positive when its score >= t_k; U_g(t) is the F1 of group g's rows, U(t) the F1 of all rows
pooled, with F1 = 2TP / (2TP + FP + FN) and 0/0 counted as 1. OPIS is the mean over groups
of the trapezoid-rule mean over the grid of (U_g(t) - U(t))^2. Groups with fewer than
``min_group_rows`` rows or without a positive row are left out; the pool keeps every row.

- classification: the groups are the classes, one-vs-rest on ``proba_<class>``; the pool is
  every row-class pair;
- matching: the groups are the values of the task's ``opis.group_column``.

One pass over the rows: each score becomes the number of grid thresholds it reaches (a
``searchsorted`` on the 101-point grid), then one ``bincount`` per (split, group, count,
truth) cell; TP and FP at every threshold are reverse cumulative sums of those counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRID_STEPS = 100
DEFAULT_RANGE = (0.05, 0.95)
DEFAULT_MIN_GROUP_ROWS = 20


@dataclass(frozen=True, eq=False)
class OpisSettings:
    """How OPIS is computed for a task; ``groups`` (matching only) holds a group code per
    solution row (-1: no group, the row counts in the pool only) and ``group_names`` them."""

    range: tuple[float, float] = DEFAULT_RANGE
    min_group_rows: int = DEFAULT_MIN_GROUP_ROWS
    groups: np.ndarray | None = None
    group_names: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class UtilityCurves:
    """F1 against the threshold, pooled and per group, for one split.

    ``group_f1`` is groups x 101; ``divergence`` is each group's trapezoid mean of
    (U_g - U)^2 and ``eligible`` whether the group counts in OPIS.
    """

    grid: np.ndarray
    pooled_f1: np.ndarray
    group_f1: np.ndarray
    group_rows: np.ndarray
    group_positives: np.ndarray
    divergence: np.ndarray
    eligible: np.ndarray
    group_names: tuple[str, ...]

    @property
    def opis(self) -> float | None:
        """The mean divergence of the eligible groups; None when no group is eligible."""
        if not self.eligible.any():
            return None
        return float(self.divergence[self.eligible].mean())


def threshold_grid(lo: float, hi: float) -> np.ndarray:
    """t_k = lo + k (hi - lo) / 100 for k = 0..100, exactly as DESIGN §11 writes it."""
    k = np.arange(GRID_STEPS + 1, dtype=np.float64)
    return lo + k * (hi - lo) / GRID_STEPS


def f1_with_empty_as_one(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """2TP / (2TP + FP + FN), elementwise, with 0/0 counted as 1."""
    tp, fp, fn = (np.asarray(a, dtype=np.float64) for a in (tp, fp, fn))
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.ones_like(denominator), where=denominator > 0)


def trapezoid_mean(values: np.ndarray) -> np.ndarray:
    """Trapezoid-rule mean over the last axis (equally spaced points)."""
    steps = values.shape[-1] - 1
    return (values[..., :-1] + values[..., 1:]).sum(axis=-1) / (2 * steps)


def _reached(score: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """How many thresholds t_k <= score: the row is positive for k below that count."""
    return np.searchsorted(grid, score, side="right")


def _cell_counts(
    reached: np.ndarray, positive: np.ndarray, group: np.ndarray, split: np.ndarray, n_groups: int
) -> np.ndarray:
    """Counts shaped (2 splits: private, public) x groups x 102 reached-counts x 2 truths."""
    width = GRID_STEPS + 2
    cells = ((split * n_groups + group) * width + reached) * 2 + positive
    counts = np.bincount(cells, minlength=2 * n_groups * width * 2)
    return counts.reshape(2, n_groups, width, 2)


def curves_from_counts(
    counts: np.ndarray, grid: np.ndarray, min_group_rows: int, group_names: tuple[str, ...]
) -> UtilityCurves:
    """Utility curves from one split's counts (groups x 102 x 2, see ``_cell_counts``)."""
    at_least = counts[:, ::-1, :].cumsum(axis=1)[:, ::-1, :]  # rows reaching >= j thresholds
    tp, fp = at_least[:, 1:, 1], at_least[:, 1:, 0]  # predicted positive at t_k: reached > k
    positives = at_least[:, 0, 1]
    rows = at_least[:, 0, :].sum(axis=1)
    group_f1 = f1_with_empty_as_one(tp, fp, positives[:, None] - tp)
    pooled_tp, pooled_fp = tp.sum(axis=0), fp.sum(axis=0)
    pooled_f1 = f1_with_empty_as_one(pooled_tp, pooled_fp, positives.sum() - pooled_tp)
    divergence = trapezoid_mean((group_f1 - pooled_f1) ** 2)
    return UtilityCurves(
        grid=grid,
        pooled_f1=pooled_f1,
        group_f1=group_f1,
        group_rows=rows,
        group_positives=positives,
        divergence=divergence,
        eligible=(rows >= min_group_rows) & (positives > 0),
        group_names=group_names,
    )


def utility_curves(
    *,
    y: np.ndarray,
    is_public: np.ndarray,
    settings: OpisSettings,
    proba: np.ndarray | None = None,
    score: np.ndarray | None = None,
    classes: list[str] | None = None,
) -> dict[str, UtilityCurves] | None:
    """Curves per split (``all``, ``public``, ``private``), or None when OPIS does not apply.

    Classification: pass ``proba`` (n x k) and ``classes``; matching: ``score`` with
    ``settings.groups``.
    """
    lo, hi = settings.range
    grid = threshold_grid(lo, hi)
    split = is_public.astype(np.int64)
    if proba is not None:
        k = proba.shape[1]
        names = tuple(classes) if classes is not None else tuple(str(c) for c in range(k))
        counts = np.zeros((2, k, GRID_STEPS + 2, 2), dtype=np.int64)
        zeros = np.zeros(y.size, dtype=np.int64)
        for c in range(k):
            positive = (y == c).astype(np.int64)
            counts[:, c : c + 1] = _cell_counts(
                _reached(proba[:, c], grid), positive, zeros, split, 1
            )
    elif score is not None and settings.groups is not None:
        groups = np.asarray(settings.groups, dtype=np.int64)
        names = tuple(settings.group_names)
        n_groups = max(len(names), int(groups.max(initial=-1)) + 1)
        names = names + tuple(str(g) for g in range(len(names), n_groups))
        # Rows without a group count in the pool only: an extra, never eligible, group.
        group = np.where(groups < 0, n_groups, groups)
        counts = _cell_counts(
            _reached(score, grid), (y == 1).astype(np.int64), group, split, n_groups + 1
        )
        out = {}
        for name, part in _splits(counts).items():
            curves = curves_from_counts(part, grid, settings.min_group_rows, (*names, ""))
            curves.eligible[-1] = False
            out[name] = curves
        return out
    else:
        return None
    return {
        name: curves_from_counts(part, grid, settings.min_group_rows, names)
        for name, part in _splits(counts).items()
    }


def _splits(counts: np.ndarray) -> dict[str, np.ndarray]:
    return {"all": counts.sum(axis=0), "public": counts[1], "private": counts[0]}


def opis_by_split(
    *,
    y: np.ndarray,
    is_public: np.ndarray,
    settings: OpisSettings,
    proba: np.ndarray | None = None,
    score: np.ndarray | None = None,
) -> dict[str, float | None] | None:
    """``{"all"|"public"|"private": OPIS or None}``, or None when OPIS does not apply."""
    curves = utility_curves(y=y, is_public=is_public, settings=settings, proba=proba, score=score)
    if curves is None:
        return None
    return {name: c.opis for name, c in curves.items()}
