"""OPIS: threshold consistency across groups (docs/architecture.md §11; Zhang et al.,
ICLR 2024).

Lower is better. On the grid t_k = lo + k (hi - lo) / 100, k = 0..100, a row is predicted
positive when its score >= t_k; U_g(t) is the F1 of group g's rows, U(t) the F1 of all rows
pooled, with F1 = 2TP / (2TP + FP + FN) and 0/0 counted as 1. OPIS is the mean over groups
of the trapezoid-rule mean over the grid of (U_g(t) - U(t))^2. Groups with fewer than
``min_group_rows`` rows or without a positive row are left out; the pool keeps every row.

- classification: the groups are the classes, one-vs-rest on ``proba_<class>``; the pool is
  every row-class pair;
- matching: the groups are the values of the task's ``opis.group_column``.

One pass over the rows: each score becomes the number of grid thresholds it reaches
(from the grid's equal spacing, made exact against the neighbouring grid points), then one
``bincount`` per (split, group, count, truth) cell; TP and FP at every threshold are reverse
cumulative sums of those counts. The rows go through in cache-sized blocks, so the dozen
vectorized steps per block run from the CPU's cache instead of main memory; a large
submission's blocks are shared between threads (``common.parallel``: the counts are
integers, so their sum does not depend on the split).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.parallel import map_rows
from kinds.columns import FloatColumns

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
    """t_k = lo + k (hi - lo) / 100 for k = 0..100, exactly as docs/architecture.md §11
    writes it."""
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


_BLOCK_ELEMENTS = 1 << 17  # scores per block: the block's temporaries stay in L2 cache


class _Scratch:
    """A block loop's temporaries, made once per part of the rows: a fresh array of a
    megabyte per step and block comes from the OS and goes back to it (glibc maps large
    allocations), and its page faults then cost more than the arithmetic."""

    def __init__(self, elements: int) -> None:
        self.floats = np.empty(elements, dtype=np.float64)
        self.counts = np.empty(elements, dtype=np.intp)
        self.cells = np.empty(elements, dtype=np.intp)
        self.flags = np.empty(elements, dtype=bool)

    def view(self, buffer: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """The start of ``buffer`` shaped as ``shape`` (contiguous)."""
        return buffer[: int(np.prod(shape))].reshape(shape)


def _reached(score: np.ndarray, grid: np.ndarray, scratch: _Scratch | None = None) -> np.ndarray:
    """How many thresholds t_k <= score: the row is positive for k below that count.

    Equal to ``np.searchsorted(grid, score, side="right")`` (NaN reaches every threshold):
    the count is estimated from the grid's equal spacing half a step low, so the estimate
    is the count or one less whatever the float rounding (it is far below half a step),
    then checked against the grid point above it. With ``scratch`` the answer is a view of
    its ``counts``, valid until its next use.
    """
    lo, hi, steps = float(grid[0]), float(grid[-1]), grid.size - 1
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        return np.searchsorted(grid, score, side="right")
    scratch = scratch if scratch is not None else _Scratch(score.size)
    estimate = scratch.view(scratch.floats, score.shape)
    reached = scratch.view(scratch.counts, score.shape)
    flags = scratch.view(scratch.flags, score.shape)
    scale = steps / (hi - lo)
    # (score - lo) * scale + 1/2, the half step folded into the subtraction
    np.subtract(score, lo - 0.5 / scale, out=estimate)
    estimate *= scale
    np.fmin(estimate, steps + 1.5, out=estimate)  # fmin/fmax: NaN becomes the top
    np.fmax(estimate, 0.0, out=estimate)
    np.copyto(reached, estimate, casting="unsafe")  # truncated, as ``astype``
    # above[r] <= score holds exactly when r is one below the count; the top's NaN
    # compares false. ``take`` from this 102-value table (clipped: no bounds check) is
    # the cheap gather.
    above = np.take(_above(grid), reached, mode="clip", out=estimate)
    np.less_equal(above, score, out=flags)
    reached += flags
    return reached


def _above(grid: np.ndarray) -> np.ndarray:
    """The threshold above each count: ``(t_0, ..., t_100, nan)``."""
    return np.concatenate((grid, [np.nan]))


def _block_rows(per_row: int, n_cells: int) -> int:
    """Rows per block: cache-sized, and many more scores than cells (each block's
    ``bincount`` costs its cells too)."""
    return max(_BLOCK_ELEMENTS // per_row, 4 * n_cells // per_row, 1)


def _class_counts(
    proba: FloatColumns, y: np.ndarray, split: np.ndarray, grid: np.ndarray
) -> np.ndarray:
    """One-vs-rest counts per class, shaped (2 splits: private, public) x k classes x 102
    reached-counts x 2 truths (positive: the row's class is the group's)."""
    n, k = proba.rows, proba.width
    width = GRID_STEPS + 2
    n_cells = 2 * k * width * 2
    # A row's cell for class c, but for its count: ((split k + c) width) 2 + (y == c), one
    # column per (split, y) pair, so a block's k cells are one ``take`` of the row's pair.
    pairs = np.arange(2 * k)
    classes = np.arange(k)[:, None]
    first_cells = ((pairs // k * k + classes) * width) * 2 + (pairs % k == classes)
    row_pairs = split * k + y
    step = _block_rows(k, n_cells)

    def count(part: slice) -> np.ndarray:
        counts = np.zeros(n_cells, dtype=np.int64)
        scratch = _Scratch(k * min(step, part.stop - part.start))
        scores = np.empty(scratch.floats.size, dtype=np.float64)  # the block's k columns
        for start in range(part.start, part.stop, step):
            rows = slice(start, min(start + step, part.stop))
            cells = _reached(proba.block(rows, scores), grid, scratch)
            cells <<= 1  # the count's place: 2 truths per count
            first = scratch.view(scratch.cells, cells.shape)
            cells += np.take(first_cells, row_pairs[rows], axis=1, out=first, mode="clip")
            counts += np.bincount(cells.ravel(), minlength=n_cells)
        return counts

    # Integer counts: the parts' sum is the same whatever the split.
    counts = sum(map_rows(count, n, per_row=k, align=step))
    return np.asarray(counts).reshape(2, k, width, 2)


def _cell_counts(
    score: np.ndarray,
    positive: np.ndarray,
    group: np.ndarray,
    split: np.ndarray,
    n_groups: int,
    grid: np.ndarray,
) -> np.ndarray:
    """Counts shaped (2 splits: private, public) x groups x 102 reached-counts x 2 truths."""
    width = GRID_STEPS + 2
    n_cells = 2 * n_groups * width * 2
    step = _block_rows(1, n_cells)
    first_cells = (split * n_groups + group) * (width * 2) + positive  # but for the count

    def count(part: slice) -> np.ndarray:
        counts = np.zeros(n_cells, dtype=np.int64)
        scratch = _Scratch(min(step, part.stop - part.start))
        for start in range(part.start, part.stop, step):
            rows = slice(start, min(start + step, part.stop))
            cells = _reached(score[rows], grid, scratch)
            cells <<= 1
            cells += first_cells[rows]
            counts += np.bincount(cells, minlength=n_cells)
        return counts

    counts = sum(map_rows(count, score.size, align=step))
    return np.asarray(counts).reshape(2, n_groups, width, 2)


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
    proba: np.ndarray | FloatColumns | None = None,
    score: np.ndarray | None = None,
    classes: list[str] | None = None,
) -> dict[str, UtilityCurves] | None:
    """Curves per split (``all``, ``public``, ``private``), or None when OPIS does not apply.

    Classification: pass ``proba`` (n x k, or the k columns as read) and ``classes``;
    matching: ``score`` with ``settings.groups``.
    """
    lo, hi = settings.range
    grid = threshold_grid(lo, hi)
    split = is_public.astype(np.int64)
    if proba is not None:
        if isinstance(proba, np.ndarray):
            proba = FloatColumns.of_matrix(proba.T)
        k = proba.width
        names = tuple(classes) if classes is not None else tuple(str(c) for c in range(k))
        counts = _class_counts(proba, y, split, grid)
    elif score is not None and settings.groups is not None:
        groups = np.asarray(settings.groups, dtype=np.int64)
        names = tuple(settings.group_names)
        n_groups = max(len(names), int(groups.max(initial=-1)) + 1)
        names = names + tuple(str(g) for g in range(len(names), n_groups))
        # Rows without a group count in the pool only: an extra, never eligible, group.
        group = np.where(groups < 0, n_groups, groups)
        counts = _cell_counts(score, y == 1, group, split, n_groups + 1, grid)
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
    proba: np.ndarray | FloatColumns | None = None,
    score: np.ndarray | None = None,
) -> dict[str, float | None] | None:
    """``{"all"|"public"|"private": OPIS or None}``, or None when OPIS does not apply."""
    curves = utility_curves(y=y, is_public=is_public, settings=settings, proba=proba, score=score)
    if curves is None:
        return None
    return {name: c.opis for name, c in curves.items()}
