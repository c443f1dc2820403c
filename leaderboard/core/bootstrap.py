"""Paired bootstrap of a leaderboard: score intervals, rank intervals, the group tied with #1.

Resampling
    All entries are scored on the *same* resamples (a paired bootstrap). Resample ``b`` draws
    ``n`` row indices uniformly with replacement from the ``n`` rows considered (all rows, or
    the ``rows`` subset, e.g. the public rows) with its own generator, child ``b`` of
    ``np.random.SeedSequence(seed)``. A result therefore depends only on ``(seed, b, n)``: it
    is identical across reruns, chunk sizes and machines, adding an entry does not change the
    other entries' resamples, and the first 1000 of 2000 resamples are the 1000 resamples.

Large boards and groups (blocks of rows, entities)
    Above ``ROW_BOOTSTRAP_MAX_ROWS`` rows (2**14), and whenever ``groups`` are given, the
    unit drawn is a group of rows rather than a row. Without ``groups``, each row is put
    in one of ``N_BLOCKS`` (4,096) random blocks by the generator of
    ``SeedSequence(seed, spawn_key=(2**31,))`` (paired: every entry sees the same blocks);
    with ``groups`` (e.g. the entity of each row in a grouping task) the groups are given.
    Resample ``b`` draws G groups uniformly with replacement out of the G groups with
    generator ``b`` as above, and each row weighs as often as its group was drawn. Since
    the statistics are sums over rows, they are computed per group once (one pass over
    the rows, in chunks) and each resample is ``counts (G) @ group sums (G x K)``: time
    and memory no longer grow with rows x resamples. Random blocks of ~n/4,096 rows
    give the row bootstrap's variance in expectation (a block's sum has m times a row's
    variance, and G blocks are drawn), so intervals match the row bootstrap's closely
    at these sizes; accuracy divides by the rows in the resample (a block sum too). The
    blocks' counts depend only on the seed and the resamples (G is fixed), so they are
    drawn once per process (``resampling.resample_counts``), and the row bootstrap's
    counts up to 2**14 rows too: no bootstrap draws more than B x 2**14 numbers, and
    after the first on a size none draws any (``resampling``'s docstring has the
    reasons for the two sizes, ``tests/leaderboard_tests/test_bootstrap_block_coverage.py``
    the coverage of the blocks' intervals).
    ``resample_group_counts`` and ``group_row_weights`` expose the draws for metrics that
    are not sums over rows, with the same seeds.

The task's kind (``kinds``) gives the statistic of the board's metric
(``TaskKind.statistic``): sums over rows (:class:`kinds.base.RowStatistic`), or a score of
drawn entities (:class:`kinds.base.EntityStatistic`).

Entities (grouping: ``y`` = each record's entity, ``preds`` = clusters)
    The unit is always the entity: resample ``b`` draws the G entities of the rows
    considered with generator ``b`` (``resample_group_counts``), and pairwise F1 is computed
    on the pairs of the drawn copies (``kinds.grouping.bootstrap`` states the definition:
    pairs inside an entity count once per copy, pairs across entities once per pair of
    copies, copies of one entity never pair with each other).

Vectorization
    A resample is reduced to a count vector (how often each row was drawn, ``np.bincount``),
    and the sufficient statistics of every entry come from one matrix product
    ``counts (resamples x rows) @ columns (rows x K)``: each kind's module says which
    columns (classification's accuracy: ``pred == y`` per entry; matching's F1: true and
    predicted positives per entry, plus the positives; regression's RMSE: the squared
    error per entry).

    Grouped (blocks, groups), columns that hold only 0 or 1 (accuracy, F1:
    ``RowStatistic.binary``) are counted instead: rows per group and pattern of a few
    columns, one integer ``bincount`` a pass in row blocks on every thread, the rows a
    ``rows`` mask selects counted where they are (``row_sums``). Exact counts: the same
    sums as the float weights gave. Real-valued columns are summed per chunk of rows, the
    chunks on every thread and added in their order: the same floats as one thread's.

    When every column holds integers (accuracy, F1), every partial sum is an integer <= n,
    so float32 products are exact for n < 2**24 (float64 beyond, and always for real-valued
    columns): results are bit-identical whatever the BLAS, its threads or the blocks.
    BLAS runs single-threaded here by default (``blas_threads=1``): scoring workers are
    several processes per host, and a multi-threaded OpenBLAS on busy cores was measured
    10x slower than one thread.
    Memory stays bounded: counts are kept as uint8 for a chunk of resamples sized to
    ``chunk_bytes`` (never as an index matrix: 1,000 resamples of 2**14 rows are 16 MB of
    counts against 128 MB of indices) and converted to floats one block of rows at a time.

Intervals
    With ``B`` resamples and ``k = max(1, ceil(alpha/2 * B))``, an interval runs from the
    k-th smallest to the k-th largest resample value (a percentile interval whose bounds are
    observed values; at most k - 1 values lie outside on each side, so it covers at least
    1 - alpha of the resamples).

    - ``score_low`` / ``score_high``: that interval of the entry's score.
    - ``rank_low`` / ``rank_high``: that interval of the entry's rank, where the rank in a
      resample is 1 + the number of ranked entries with a strictly better score there.
      Baseline entries are not ranked: they get score intervals but no rank interval and do
      not count in the other entries' ranks.

Direction
    "Better" follows the metric's direction (``kinds.metrics``): higher for accuracy and
    F1, lower for RMSE. Ranks, the best entry, the differences and the tie rule below are
    all taken on ``sign * score`` (sign -1 for a lower-is-better metric), so ``diff_low`` and
    ``diff_high`` are how much better the best entry is, in the metric's units.

Tie rule (``tied_with_best``)
    The best entry is the ranked entry with the best point score (on equal scores the
    first in input order, so pass entries in board order). For entry ``i``, take the paired
    differences ``d_b = sign * (score_b(best) - score_b(i))`` over the same resamples.
    Entry ``i`` is tied with the best when the interval of ``d`` above includes 0, i.e. when
    ``diff_low <= 0``; equivalently when at least k of the B resamples have entry ``i`` at
    least as good as the best (``share_at_least_best >= k / B``, about alpha / 2).
    This is a one-sided paired bootstrap test of "best is better than i" at level alpha / 2
    that counts resamples with equal scores in favour of a tie (discrete metrics tie often).
    The best entry is tied with itself. The group is not corrected for multiple comparisons:
    it answers "could this entry be #1?" per entry. Baseline entries get ``diff_low``,
    ``diff_high`` and ``share_at_least_best`` too, but never join the tied group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from common.parallel import row_parts, run_all
from kinds import TaskKind, kind_get, metric_info
from kinds.base import EntityStatistic, RowStatistic
from leaderboard.core.resampling import (
    N_BLOCKS,
    ROW_BOOTSTRAP_MAX_ROWS,
    block_assignment,
    group_codes,
    group_row_weights,
    resample_group_counts,
    resample_indices,
    resample_streams,
)
from leaderboard.core.row_sums import counted_in_place, masked_row_scores, row_scores
from leaderboard.core.row_sums import point as row_point

DEFAULT_CHUNK_BYTES = 64 * 2**20  # uint8 counts kept in memory at once
_SELECT_ROWS = 2**17  # rows of a mask whose selected rows are gathered at once

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "N_BLOCKS",
    "ROW_BOOTSTRAP_MAX_ROWS",
    "BootstrapResult",
    "EntryInterval",
    "block_assignment",
    "bootstrap_leaderboard",
    "group_row_weights",
    "has_bootstrap",
    "point_scores",
    "resample_group_counts",
    "resample_indices",
    "resample_streams",
    "statistic_of",
    "statistic_resamples",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryInterval:
    """Bootstrap statistics of one entry (``index`` into the ``preds`` sequence)."""

    index: int
    is_baseline: bool
    score: float  # point estimate on the rows considered
    score_low: float
    score_high: float
    rank_low: int | None  # None for baseline entries
    rank_high: int | None
    diff_low: float | None  # interval of score(best) - score(this); None when no best
    diff_high: float | None
    share_at_least_best: float | None  # share of resamples where this entry >= the best
    tied_with_best: bool


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class BootstrapResult:
    """Per-entry intervals, the best entry and the group tied with it."""

    kind: str
    metric: str
    n_rows: int
    n_resamples: int
    seed: int
    alpha: float
    entries: tuple[EntryInterval, ...]
    best: int | None  # index of the best ranked entry; None when every entry is a baseline
    higher_is_better: bool
    tied_with_best: frozenset[int]  # indices of ranked entries tied with the best (incl. it)
    samples: np.ndarray | None = None  # (n_resamples, entries) scores, when asked for


def statistic_of(kind: str, metric: str | None = None) -> tuple[TaskKind, str, Any]:
    """The kind, the metric (``metric`` or the kind's primary) and its bootstrap statistic;
    ValueError when the kind has none for that metric (the board then has no intervals)."""
    task_kind = kind_get(kind)
    name = metric or task_kind.primary
    statistic = task_kind.statistic(name)
    if statistic is None:
        raise ValueError(f"no bootstrap of {name!r} for {kind} tasks")
    return task_kind, name, statistic


def has_bootstrap(kind: str, metric: str | None = None) -> bool:
    """Whether boards of ``kind`` ranked by ``metric`` get intervals (and transfer cells)."""
    try:
        statistic_of(kind, metric)
    except ValueError:
        return False
    return True


def _checked(
    y: np.ndarray, preds: Sequence[np.ndarray], rows: np.ndarray | None
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray | None]:
    """The arrays and the row selection (a mask of ``y``'s shape, or indexes), checked."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError("y must be one-dimensional")
    if len(preds) == 0:
        raise ValueError("at least one entry is needed")
    arrays = [np.asarray(p) for p in preds]
    for i, p in enumerate(arrays):
        if p.shape != y.shape:
            raise ValueError(f"preds[{i}] has shape {p.shape}, expected {y.shape}")
    if rows is not None:
        rows = np.asarray(rows)
        if rows.dtype == bool and rows.shape != y.shape:
            raise ValueError(f"rows mask has shape {rows.shape}, expected {y.shape}")
    return y, arrays, rows


def _prepare(
    y: np.ndarray,
    preds: Sequence[np.ndarray],
    statistic: RowStatistic | EntityStatistic,
    rows: np.ndarray | None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Validate, apply the row selection, and let the statistic convert the arrays."""
    y, arrays, rows = _checked(y, preds, rows)
    if rows is not None:
        if rows.dtype == bool:
            y, *arrays = _selected([y, *arrays], rows)
        else:
            y = y[rows]
            arrays = [p[rows] for p in arrays]
    if y.shape[0] == 0:
        raise ValueError("no rows to resample")
    if isinstance(statistic, RowStatistic):
        return statistic.prepare(y, arrays)
    return y, arrays


def _in_place(
    statistic: RowStatistic | EntityStatistic,
    y: np.ndarray,
    preds: Sequence[np.ndarray],
    rows: np.ndarray | None,
    groups: np.ndarray | None,
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, int] | None:
    """``(y, preds, mask, rows selected)`` when a statistic of 0/1 columns counts the rows
    a mask selects where they are (``row_sums.masked_row_scores``: no copy of the
    selected rows), checked; None when the rows are selected first (``_prepare``)."""
    if not isinstance(statistic, RowStatistic) or not statistic.binary or groups is not None:
        return None
    if rows is None or np.asarray(rows).dtype != bool:
        return None
    y, arrays, mask = _checked(y, preds, rows)
    n = int(np.count_nonzero(mask))
    if not counted_in_place(n):
        return None
    return y, arrays, mask, n


def _selected(arrays: Sequence[np.ndarray], mask: np.ndarray) -> list[np.ndarray]:
    """Each of ``arrays`` (of the mask's shape) at the rows ``mask`` sets, in order. The
    mask is cut in parts (on every thread) and each part in blocks whose rows are found
    once and gathered from every array while they are in the cache (10M rows, three
    arrays: 0.012-0.015 s instead of 0.02-0.03 s for one index of the rows, then each
    array's gather)."""
    n = mask.shape[0]
    parts = row_parts(n)
    ends = np.cumsum([np.count_nonzero(mask[part]) for part in parts]).tolist()
    out = [np.empty(ends[-1], dtype=a.dtype) for a in arrays]

    def gather(part: slice, start: int) -> None:
        for r0 in range(part.start, part.stop, _SELECT_ROWS):
            r1 = min(part.stop, r0 + _SELECT_ROWS)
            found = np.flatnonzero(mask[r0:r1])
            stop = start + found.shape[0]
            for a, into in zip(arrays, out, strict=True):
                # within the block: "clip" never clips, and writes into ``out`` unbuffered
                np.take(a[r0:r1], found, out=into[start:stop], mode="clip")
            start = stop

    run_all(
        [
            lambda part=part, start=start: gather(part, start)
            for part, start in zip(parts, [0, *ends[:-1]], strict=True)
        ]
    )
    return out


def point_scores(
    *,
    y: np.ndarray,
    preds: Sequence[np.ndarray],
    kind: str,
    rows: np.ndarray | None = None,
    metric: str | None = None,
) -> np.ndarray:
    """The score of each entry on the rows (the bootstrap's point estimates)."""
    _, _, statistic = statistic_of(kind, metric)
    y_rows, arrays = _prepare(y, preds, statistic, rows)
    if isinstance(statistic, EntityStatistic):
        entities, n_entities = group_codes(y_rows)
        return statistic.resample_scores(
            entities=entities,
            n_entities=n_entities,
            clusters=arrays,
            draws=iter(()),
            n_resamples=0,
            chunk_bytes=DEFAULT_CHUNK_BYTES,
        )[0]
    return row_point(y_rows, arrays, statistic)


def statistic_resamples(
    *,
    y: np.ndarray,
    preds: Sequence[np.ndarray],
    statistic: RowStatistic | EntityStatistic,
    kind: str = "",
    n_resamples: int,
    seed: int,
    rows: np.ndarray | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    blas_threads: int | None = 1,
    groups: np.ndarray | None = None,
) -> tuple[int, np.ndarray, np.ndarray]:
    """The rows resampled, every entry's point score and its (resamples x entries) scores
    under the paired bootstrap of the module docstring, for a given ``statistic`` (what
    :func:`bootstrap_leaderboard` resamples; the Ladder's bootstrap rule too,
    ``leaderboard.core.ladder``). ValueError on arrays the statistic refuses."""
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1")
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be positive")
    in_place = _in_place(statistic, y, preds, rows, groups)
    if in_place is None:
        y_rows, arrays = _prepare(y, preds, statistic, rows)
        n = y_rows.shape[0]
    else:
        y, arrays, rows, n = in_place
    if isinstance(statistic, EntityStatistic):
        # y holds each record's entity: the entities are the unit.
        if groups is not None:
            raise ValueError(f"a {kind} task resamples its entities (y); groups= is not used")
        entities, n_entities = group_codes(y_rows)
        point, samples = statistic.resample_scores(
            entities=entities,
            n_entities=n_entities,
            clusters=arrays,
            draws=resample_group_counts(n_groups=n_entities, seed=seed, n_resamples=n_resamples),
            n_resamples=n_resamples,
            chunk_bytes=chunk_bytes,
        )
    elif in_place is not None:
        try:
            point, samples = masked_row_scores(
                y,
                arrays,
                statistic,
                mask=rows,
                n_resamples=n_resamples,
                seed=seed,
                chunk_bytes=chunk_bytes,
                blas_threads=blas_threads,
            )
        except ValueError:
            _prepare(y, preds, statistic, rows)  # the selection's own words, as ever
            raise
    else:
        point, samples = row_scores(
            y,
            y_rows,
            arrays,
            statistic,
            rows=rows,
            groups=groups,
            n_resamples=n_resamples,
            seed=seed,
            chunk_bytes=chunk_bytes,
            blas_threads=blas_threads,
        )
    return n, point, samples


def _tail_index(alpha: float, n_resamples: int) -> int:
    """k: intervals run from the k-th smallest to the k-th largest of B values."""
    return max(1, math.ceil(alpha / 2 * n_resamples - 1e-9))


def _resample_ranks(samples: np.ndarray) -> np.ndarray:
    """Rank in each resample: 1 + the number of entries strictly better there.

    Each resample's scores are sorted once (best first) and an entry's rank is 1 + the
    position of the first score equal to its own: O(B n log n), not the O(B n^2) of counting
    every pair (issue 65: the rank sets' pairs come on top of this job). A NaN (a resample
    where a score is undefined) is compared as the pairs compare it: never better, and
    nothing better than it."""
    n_resamples, n_ranked = samples.shape
    if n_ranked == 0:
        return np.empty((n_resamples, 0), dtype=np.int64)
    undefined = np.isnan(samples)
    scores = np.where(undefined, -np.inf, samples)  # compared as the pairs compare NaN
    order = np.argsort(-scores, axis=1, kind="stable")
    ordered = np.take_along_axis(scores, order, axis=1)
    starts = np.ones(ordered.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]  # a new score: its first position
    # the last start at or before each cell, over the flattened rows (each row begins with a
    # start, so none reaches back into the row before); then its position within the row
    cells = np.arange(starts.size).reshape(starts.shape)
    first = np.maximum.accumulate(np.where(starts, cells, 0).ravel()).reshape(starts.shape)
    first -= cells[:, :1]
    ranks = np.empty((n_resamples, n_ranked), dtype=np.int64)
    np.put_along_axis(ranks, order, first + 1, axis=1)
    ranks[undefined] = 1  # NaN > x is never true: nothing counts as better than it
    return ranks


def bootstrap_leaderboard(
    *,
    y: np.ndarray,
    preds: Sequence[np.ndarray],
    kind: str,
    metric: str | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    rows: np.ndarray | None = None,
    is_baseline: Sequence[bool] | None = None,
    keep_samples: bool = False,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    blas_threads: int | None = 1,
    groups: np.ndarray | None = None,
) -> BootstrapResult:
    """Paired bootstrap of every entry's score on ``metric`` (default: the kind's primary;
    see the module docstring). ValueError when the kind has no statistic for it.

    ``y`` and each of ``preds`` are aligned arrays as the kind's truth and predictions
    (class index, 0/1 for matching, numbers for regression...); ``rows`` is a boolean mask
    or an index array selecting the rows to resample (e.g. the public rows).
    ``is_baseline`` flags entries that get score intervals but no rank. ``keep_samples``
    keeps the (resamples x entries) scores in the result; ``chunk_bytes`` bounds the counts
    held at once; ``blas_threads`` caps BLAS threads (None: leave as is). ``groups`` (one
    code per row of ``y``) resamples whole groups of rows; without it, boards above
    ``ROW_BOOTSTRAP_MAX_ROWS`` rows resample random blocks. Kinds whose unit is the entity
    (grouping) always resample the entities of ``y``.
    """
    _, name, statistic = statistic_of(kind, metric)
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    n, point, samples = statistic_resamples(
        y=y,
        preds=preds,
        statistic=statistic,
        kind=kind,
        n_resamples=n_resamples,
        seed=seed,
        rows=rows,
        chunk_bytes=chunk_bytes,
        blas_threads=blas_threads,
        groups=groups,
    )
    n_entries = len(preds)
    baseline = np.zeros(n_entries, dtype=bool)
    if is_baseline is not None:
        if len(is_baseline) != n_entries:
            raise ValueError("is_baseline needs one flag per entry")
        baseline = np.array([bool(b) for b in is_baseline], dtype=bool)

    higher = metric_info(name).higher_is_better
    sign = 1.0 if higher else -1.0
    k = _tail_index(alpha, n_resamples)
    ordered = np.sort(samples, axis=0)
    score_low, score_high = ordered[k - 1], ordered[n_resamples - k]

    ranked = np.flatnonzero(~baseline)
    rank_low: dict[int, int] = {}
    rank_high: dict[int, int] = {}
    best: int | None = None
    diff_low = diff_high = share = None
    tied = np.zeros(n_entries, dtype=bool)
    if ranked.size:
        oriented = sign * samples  # higher is better from here on
        ranks = np.sort(_resample_ranks(oriented[:, ranked]), axis=0)
        for column, index in enumerate(ranked):
            rank_low[int(index)] = int(ranks[k - 1, column])
            rank_high[int(index)] = int(ranks[n_resamples - k, column])
        best = int(ranked[np.argmax(sign * point[ranked])])
        differences = oriented[:, best : best + 1] - oriented
        ordered_diff = np.sort(differences, axis=0)
        diff_low, diff_high = ordered_diff[k - 1], ordered_diff[n_resamples - k]
        at_least = (differences <= 0).sum(axis=0)
        share = at_least / n_resamples
        tied = (at_least >= k) & ~baseline

    entries = tuple(
        EntryInterval(
            index=i,
            is_baseline=bool(baseline[i]),
            score=float(point[i]),
            score_low=float(score_low[i]),
            score_high=float(score_high[i]),
            rank_low=rank_low.get(i),
            rank_high=rank_high.get(i),
            diff_low=None if diff_low is None else float(diff_low[i]),
            diff_high=None if diff_high is None else float(diff_high[i]),
            share_at_least_best=None if share is None else float(share[i]),
            tied_with_best=bool(tied[i]),
        )
        for i in range(n_entries)
    )
    return BootstrapResult(
        kind=kind,
        metric=name,
        n_rows=n,
        n_resamples=n_resamples,
        seed=seed,
        alpha=alpha,
        entries=entries,
        best=best,
        higher_is_better=higher,
        tied_with_best=frozenset(int(i) for i in np.flatnonzero(tied)),
        samples=samples if keep_samples else None,
    )
