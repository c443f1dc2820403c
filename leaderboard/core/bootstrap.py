"""Paired bootstrap of a leaderboard: score intervals, rank intervals, the group tied with #1.

Resampling
    All entries are scored on the *same* resamples (a paired bootstrap). Resample ``b`` draws
    ``n`` row indices uniformly with replacement from the ``n`` rows considered (all rows, or
    the ``rows`` subset, e.g. the public rows) with its own generator, child ``b`` of
    ``np.random.SeedSequence(seed)``. A result therefore depends only on ``(seed, b, n)``: it
    is identical across reruns, chunk sizes and machines, adding an entry does not change the
    other entries' resamples, and the first 1000 of 2000 resamples are the 1000 resamples.

Large boards and groups (blocks of rows, entities)
    Above ``ROW_BOOTSTRAP_MAX_ROWS`` rows (2**20), and whenever ``groups`` are given, the
    unit drawn is a group of rows rather than a row. Without ``groups``, each row is put
    in one of ``N_BLOCKS`` (65,536) random blocks by the generator of
    ``SeedSequence(seed, spawn_key=(2**31,))`` (paired: every entry sees the same blocks);
    with ``groups`` (e.g. the entity of each row in a grouping task) the groups are given.
    Resample ``b`` draws G groups uniformly with replacement out of the G groups with
    generator ``b`` as above, and each row weighs as often as its group was drawn. Since
    the statistics are sums over rows, they are computed per group once (one pass over
    the rows, in chunks) and each resample is ``counts (G) @ group sums (G x K)``: time
    and memory no longer grow with rows x resamples. Random blocks of ~n/65,536 rows
    give the row bootstrap's variance in expectation (a block's sum has m times a row's
    variance, and G blocks are drawn), so intervals match the row bootstrap's closely
    at these sizes; accuracy divides by the rows in the resample (a block sum too).
    ``resample_group_counts`` and ``group_row_weights`` expose the draws for metrics that
    are not sums over rows, with the same seeds.

Grouping tasks (kind ``grouping``: ``y`` = each record's entity, ``preds`` = clusters)
    The unit is always the entity: resample ``b`` draws the G entities of the rows
    considered with generator ``b`` (``resample_group_counts``), and pairwise F1 is computed
    on the pairs of the drawn copies (``leaderboard.core.grouping_bootstrap`` states the
    definition: pairs inside an entity count once per copy, pairs across entities once per
    pair of copies, copies of one entity never pair with each other).

Vectorization
    A resample is reduced to a count vector (how often each row was drawn, ``np.bincount``),
    and the sufficient statistics of every entry come from one matrix product
    ``counts (resamples x rows) @ indicators (rows x K)``:

    - ``classification`` (accuracy): one column per entry, ``pred == y``;
      accuracy = sum / n.
    - ``matching`` (F1 of the match class): per entry ``tp = pred & y`` and
      ``pp = pred`` (predicted positive), plus one column ``y`` (positives);
      F1 = 2 TP / (PP + P), and 0 when PP + P = 0 (nothing predicted, nothing to find).

    Every partial sum is an integer <= n, so float32 products are exact for n < 2**24
    (float64 beyond): results are bit-identical whatever the BLAS, its threads or the blocks.
    BLAS runs single-threaded here by default (``blas_threads=1``): scoring workers are
    several processes per host, and a multi-threaded OpenBLAS on busy cores was measured
    10x slower than one thread.
    Memory stays bounded: counts are kept as uint8 for a chunk of resamples sized to
    ``chunk_bytes`` (by default, 1000 resamples of 1M rows are processed 67 at a time, never
    as an 8 GB index matrix) and converted to floats one block of rows at a time.

Intervals
    With ``B`` resamples and ``k = max(1, ceil(alpha/2 * B))``, an interval runs from the
    k-th smallest to the k-th largest resample value (a percentile interval whose bounds are
    observed values; at most k - 1 values lie outside on each side, so it covers at least
    1 - alpha of the resamples).

    - ``score_low`` / ``score_high``: that interval of the entry's score.
    - ``rank_low`` / ``rank_high``: that interval of the entry's rank, where the rank in a
      resample is 1 + the number of ranked entries with a strictly higher score there.
      Baseline entries are not ranked: they get score intervals but no rank interval and do
      not count in the other entries' ranks.

Tie rule (``tied_with_best``)
    The best entry is the ranked entry with the highest point score (on equal scores the
    first in input order, so pass entries in board order). For entry ``i``, take the paired
    differences ``d_b = score_b(best) - score_b(i)`` over the same resamples. Entry ``i`` is
    tied with the best when the interval of ``d`` above includes 0, i.e. when
    ``diff_low <= 0``; equivalently when at least k of the B resamples have
    ``score_b(i) >= score_b(best)`` (``share_at_least_best >= k / B``, about alpha / 2).
    This is a one-sided paired bootstrap test of "best is better than i" at level alpha / 2
    that counts resamples with equal scores in favour of a tie (discrete metrics tie often).
    The best entry is tied with itself. The group is not corrected for multiple comparisons:
    it answers "could this entry be #1?" per entry. Baseline entries get ``diff_low``,
    ``diff_high`` and ``share_at_least_best`` too, but never join the tied group.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from leaderboard.core.grouping_bootstrap import grouping_resample_scores

try:  # pinned in requirements.lock (a scikit-learn dependency)
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - without it BLAS keeps its own thread count
    threadpool_limits = None

Kind = Literal["classification", "matching", "grouping"]
KINDS: tuple[Kind, ...] = ("classification", "matching", "grouping")

ROW_BOOTSTRAP_MAX_ROWS = 2**20  # above this, random blocks of rows are resampled
N_BLOCKS = 2**16
_BLOCK_STREAM = 2**31  # spawn key of the block assignment's generator (no resample uses it)
_ROW_CHUNK = 2**22  # rows turned into indicators at once when summing per group
DEFAULT_CHUNK_BYTES = 64 * 2**20  # uint8 counts kept in memory at once
_BLOCK_BYTES = 16 * 2**20  # float block of counts or indicators multiplied at once
_RANK_CELLS = 2**24  # resamples x entries x entries compared at once
_EXACT_FLOAT32_ROWS = 2**24


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

    kind: Kind
    n_rows: int
    n_resamples: int
    seed: int
    alpha: float
    entries: tuple[EntryInterval, ...]
    best: int | None  # index of the best ranked entry; None when every entry is a baseline
    tied_with_best: frozenset[int]  # indices of ranked entries tied with the best (incl. it)
    samples: np.ndarray | None = None  # (n_resamples, entries) scores, when asked for


def resample_streams(*, seed: int, n_resamples: int) -> list[np.random.Generator]:
    """One independent generator per resample (child ``b`` of ``SeedSequence(seed)``)."""
    children = np.random.SeedSequence(seed).spawn(n_resamples)
    return [np.random.Generator(np.random.PCG64(child)) for child in children]


def resample_indices(*, n: int, seed: int, n_resamples: int) -> Iterator[np.ndarray]:
    """The row indices drawn by each resample, in order (what the bootstrap counts)."""
    for generator in resample_streams(seed=seed, n_resamples=n_resamples):
        yield generator.integers(0, n, size=n)


def resample_group_counts(*, n_groups: int, seed: int, n_resamples: int) -> Iterator[np.ndarray]:
    """How often each of ``n_groups`` groups is drawn by each resample, in order.

    Resample ``b`` draws ``n_groups`` groups with replacement with generator ``b`` of
    ``resample_streams``; with one row per group this is the row bootstrap's count vector.
    """
    for generator in resample_streams(seed=seed, n_resamples=n_resamples):
        yield np.bincount(generator.integers(0, n_groups, size=n_groups), minlength=n_groups)


def group_row_weights(*, groups: np.ndarray, seed: int, n_resamples: int) -> Iterator[np.ndarray]:
    """Per resample, each row's weight: how often its group was drawn (paired, seeded).

    ``groups`` holds a group code per row (entities of a grouping task, any integers);
    rows of one group always move together. Use it for metrics that are not sums over
    rows; ``bootstrap_leaderboard(groups=...)`` uses the same draws.
    """
    codes, n_groups = _group_codes(groups)
    for counts in resample_group_counts(n_groups=n_groups, seed=seed, n_resamples=n_resamples):
        yield counts[codes]


def block_assignment(*, n: int, seed: int) -> np.ndarray:
    """The random block (0 .. N_BLOCKS - 1) of each of ``n`` rows, for large boards."""
    child = np.random.SeedSequence(seed, spawn_key=(_BLOCK_STREAM,))
    generator = np.random.Generator(np.random.PCG64(child))
    return generator.integers(0, N_BLOCKS, size=n, dtype=np.uint16)


def _group_codes(groups: np.ndarray) -> tuple[np.ndarray, int]:
    """Compact codes 0 .. G - 1 (kept as given when they already are) and G."""
    groups = np.asarray(groups)
    if groups.ndim != 1:
        raise ValueError("groups must be one-dimensional")
    if groups.size == 0:
        return groups.astype(np.int64), 0
    if groups.dtype.kind in "iu" and groups.min() >= 0:
        present = np.bincount(groups)
        if present.all():
            return groups, int(present.size)
    uniques, codes = np.unique(groups, return_inverse=True)
    return codes, int(uniques.size)


def _kind(kind: str) -> Kind:
    for known in KINDS:
        if kind == known:
            return known
    raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")


def _prepare(
    y: np.ndarray, preds: Sequence[np.ndarray], kind: Kind, rows: np.ndarray | None
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Validate, apply the row selection, and turn matching labels into booleans."""
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
        y = y[rows]
        arrays = [p[rows] for p in arrays]
    if y.shape[0] == 0:
        raise ValueError("no rows to resample")
    if kind == "matching":
        for name, a in [("y", y), *((f"preds[{i}]", p) for i, p in enumerate(arrays))]:
            if np.any((a != 0) & (a != 1)):
                raise ValueError(f"{name} must hold only 0 and 1 for a matching task")
        y = y.astype(bool)
        arrays = [p.astype(bool) for p in arrays]
    return y, arrays


def _n_columns(kind: Kind, n_entries: int) -> int:
    return n_entries if kind == "classification" else 2 * n_entries + 1


def _indicators(
    y: np.ndarray, preds: Sequence[np.ndarray], kind: Kind, dtype: type[np.floating]
) -> np.ndarray:
    """Per-row indicator columns, stored transposed: shape (K, rows)."""
    n_entries = len(preds)
    out = np.empty((_n_columns(kind, n_entries), y.shape[0]), dtype=dtype)
    if kind == "classification":
        for e, p in enumerate(preds):
            np.equal(p, y, out=out[e], casting="unsafe")
    else:
        for e, p in enumerate(preds):
            np.logical_and(p, y, out=out[e], casting="unsafe")
            out[n_entries + e] = p
        out[2 * n_entries] = y
    return out


def _scores_from_sums(
    sums: np.ndarray, n: int | np.ndarray, n_entries: int, kind: Kind
) -> np.ndarray:
    """(..., K) sufficient statistics -> (..., entries) scores, as float64.

    ``n`` is the rows resampled: a number, or one per resample (drawn groups vary in size).
    """
    sums = sums.astype(np.float64)
    if kind == "classification":
        scores = np.zeros_like(sums)
        np.divide(sums, n, out=scores, where=np.broadcast_to(np.asarray(n) > 0, sums.shape))
        return scores
    tp = sums[..., :n_entries]
    pp = sums[..., n_entries : 2 * n_entries]
    positives = sums[..., 2 * n_entries : 2 * n_entries + 1]
    denominator = pp + positives
    f1 = np.zeros_like(tp)
    np.divide(2 * tp, denominator, out=f1, where=denominator > 0)
    return f1


def _fill_counts(generators: Sequence[np.random.Generator], n: int) -> np.ndarray:
    """How often each row is drawn, one line per resample (uint8 unless a count overflows)."""
    counts: np.ndarray = np.empty((len(generators), n), dtype=np.uint8)
    for j, generator in enumerate(generators):
        drawn = np.bincount(generator.integers(0, n, size=n), minlength=n)
        if counts.dtype == np.uint8 and drawn.max() > np.iinfo(np.uint8).max:
            counts = counts.astype(np.int32)  # never seen in practice; stay exact anyway
        counts[j] = drawn
    return counts


def _resample_scores(
    y: np.ndarray,
    preds: Sequence[np.ndarray],
    kind: Kind,
    *,
    n_resamples: int,
    seed: int,
    chunk_bytes: int,
) -> np.ndarray:
    n = y.shape[0]
    n_entries = len(preds)
    n_columns = _n_columns(kind, n_entries)
    dtype: type[np.floating] = np.float32 if n < _EXACT_FLOAT32_ROWS else np.float64
    itemsize = np.dtype(dtype).itemsize
    chunk = max(1, min(n_resamples, chunk_bytes // n))
    block = max(256, _BLOCK_BYTES // (itemsize * max(chunk, n_columns)))

    streams = resample_streams(seed=seed, n_resamples=n_resamples)
    scores = np.empty((n_resamples, n_entries), dtype=np.float64)
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        counts = _fill_counts(streams[start:stop], n)
        sums = np.zeros((stop - start, n_columns), dtype=dtype)
        for r0 in range(0, n, block):
            r1 = min(n, r0 + block)
            indicators = _indicators(y[r0:r1], [p[r0:r1] for p in preds], kind, dtype)
            sums += counts[:, r0:r1].astype(dtype) @ indicators.T
        scores[start:stop] = _scores_from_sums(sums, n, n_entries, kind)
    return scores


def _group_sums(
    y: np.ndarray, preds: Sequence[np.ndarray], kind: Kind, codes: np.ndarray, n_groups: int
) -> np.ndarray:
    """(G, K + 1) float64: each group's sufficient statistics, then its row count."""
    n_entries = len(preds)
    n_columns = _n_columns(kind, n_entries)
    sums = np.zeros((n_groups, n_columns + 1), dtype=np.float64)
    for r0 in range(0, y.shape[0], _ROW_CHUNK):
        part = slice(r0, r0 + _ROW_CHUNK)
        at, truth = codes[part], y[part]
        sums[:, n_columns] += np.bincount(at, minlength=n_groups)
        for e, p in enumerate(preds):
            if kind == "classification":
                sums[:, e] += np.bincount(at[p[part] == truth], minlength=n_groups)
            else:
                predicted = p[part]
                sums[:, e] += np.bincount(at[predicted & truth], minlength=n_groups)
                sums[:, n_entries + e] += np.bincount(at[predicted], minlength=n_groups)
        if kind == "matching":
            sums[:, 2 * n_entries] += np.bincount(at[truth], minlength=n_groups)
    return sums


def _group_resample_scores(
    y: np.ndarray,
    preds: Sequence[np.ndarray],
    kind: Kind,
    *,
    codes: np.ndarray,
    n_groups: int,
    n_resamples: int,
    seed: int,
    chunk_bytes: int,
) -> np.ndarray:
    """Scores per resample when groups of rows are drawn (exact integer sums in float64)."""
    n_entries = len(preds)
    group_sums = _group_sums(y, preds, kind, codes, n_groups)
    chunk = max(1, min(n_resamples, chunk_bytes // (8 * n_groups)))
    scores = np.empty((n_resamples, n_entries), dtype=np.float64)
    draws = resample_group_counts(n_groups=n_groups, seed=seed, n_resamples=n_resamples)
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        counts = np.empty((stop - start, n_groups), dtype=np.float64)
        for line in counts:
            line[:] = next(draws)
        sums = counts @ group_sums  # integers below 2**53: exact
        rows = sums[:, -1:]
        scores[start:stop] = _scores_from_sums(sums[:, :-1], rows, n_entries, kind)
    return scores


def _point(y: np.ndarray, preds: Sequence[np.ndarray], kind: Kind) -> np.ndarray:
    """Scores on the rows themselves, from the same sufficient statistics (exact counts)."""
    if kind == "classification":
        sums = [np.count_nonzero(p == y) for p in preds]
    else:
        sums = [
            *(np.count_nonzero(p & y) for p in preds),
            *(np.count_nonzero(p) for p in preds),
            np.count_nonzero(y),
        ]
    return _scores_from_sums(np.array(sums, dtype=np.float64), y.shape[0], len(preds), kind)


def point_scores(
    *, y: np.ndarray, preds: Sequence[np.ndarray], kind: str, rows: np.ndarray | None = None
) -> np.ndarray:
    """The primary score of each entry on the rows (the bootstrap's point estimates)."""
    kind_ = _kind(kind)
    y_rows, arrays = _prepare(y, preds, kind_, rows)
    if kind_ == "grouping":
        entities, n_entities = _group_codes(y_rows)
        return grouping_resample_scores(
            entities=entities,
            n_entities=n_entities,
            clusters=arrays,
            draws=iter(()),
            n_resamples=0,
            chunk_bytes=DEFAULT_CHUNK_BYTES,
        )[0]
    return _point(y_rows, arrays, kind_)


def _tail_index(alpha: float, n_resamples: int) -> int:
    """k: intervals run from the k-th smallest to the k-th largest of B values."""
    return max(1, math.ceil(alpha / 2 * n_resamples - 1e-9))


def _resample_ranks(samples: np.ndarray) -> np.ndarray:
    """Rank in each resample: 1 + the number of entries strictly better there."""
    n_resamples, n_ranked = samples.shape
    ranks = np.empty((n_resamples, n_ranked), dtype=np.int64)
    step = max(1, _RANK_CELLS // max(1, n_ranked * n_ranked))
    for s0 in range(0, n_resamples, step):
        part = samples[s0 : s0 + step]
        ranks[s0 : s0 + step] = 1 + (part[:, None, :] > part[:, :, None]).sum(axis=2)
    return ranks


def _label_scores(
    y: np.ndarray,
    y_rows: np.ndarray,
    arrays: Sequence[np.ndarray],
    kind: Kind,
    *,
    rows: np.ndarray | None,
    groups: np.ndarray | None,
    n_resamples: int,
    seed: int,
    chunk_bytes: int,
    blas_threads: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Point scores and resample scores of accuracy or F1 (rows, blocks or given groups)."""
    n = y_rows.shape[0]
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != np.asarray(y).shape:
            raise ValueError(f"groups has shape {groups.shape}, expected {np.asarray(y).shape}")
        codes, n_groups = _group_codes(groups if rows is None else groups[np.asarray(rows)])
    elif n > ROW_BOOTSTRAP_MAX_ROWS:
        codes, n_groups = block_assignment(n=n, seed=seed), N_BLOCKS
    else:
        codes, n_groups = None, 0
    point = _point(y_rows, arrays, kind)
    limit = (
        threadpool_limits(limits=blas_threads, user_api="blas")
        if blas_threads is not None and threadpool_limits is not None
        else contextlib.nullcontext()
    )
    with limit:
        if codes is None:
            samples = _resample_scores(
                y_rows, arrays, kind, n_resamples=n_resamples, seed=seed, chunk_bytes=chunk_bytes
            )
        else:
            samples = _group_resample_scores(
                y_rows,
                arrays,
                kind,
                codes=codes,
                n_groups=n_groups,
                n_resamples=n_resamples,
                seed=seed,
                chunk_bytes=chunk_bytes,
            )
    return point, samples


def bootstrap_leaderboard(
    *,
    y: np.ndarray,
    preds: Sequence[np.ndarray],
    kind: str,
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
    """Paired bootstrap of every entry's primary score (see the module docstring).

    ``y`` and each of ``preds`` are aligned int arrays (class index, or 0/1 for matching);
    ``rows`` is a boolean mask or an index array selecting the rows to resample (e.g. the
    public rows). ``is_baseline`` flags entries that get score intervals but no rank.
    ``keep_samples`` keeps the (resamples x entries) scores in the result; ``chunk_bytes``
    bounds the counts held at once; ``blas_threads`` caps BLAS threads (None: leave as is).
    ``groups`` (one code per row of ``y``) resamples whole groups of rows, e.g. entities;
    without it, boards above ``ROW_BOOTSTRAP_MAX_ROWS`` rows resample random blocks.
    """
    kind_ = _kind(kind)
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be positive")
    y_rows, arrays = _prepare(y, preds, kind_, rows)
    n, n_entries = y_rows.shape[0], len(arrays)
    baseline = np.zeros(n_entries, dtype=bool)
    if is_baseline is not None:
        if len(is_baseline) != n_entries:
            raise ValueError("is_baseline needs one flag per entry")
        baseline = np.array([bool(b) for b in is_baseline], dtype=bool)
    if kind_ == "grouping":
        # y holds each record's entity: the entities are the unit (grouping_bootstrap).
        if groups is not None:
            raise ValueError("a grouping task resamples its entities (y); groups= is not used")
        entities, n_entities = _group_codes(y_rows)
        point, samples = grouping_resample_scores(
            entities=entities,
            n_entities=n_entities,
            clusters=arrays,
            draws=resample_group_counts(n_groups=n_entities, seed=seed, n_resamples=n_resamples),
            n_resamples=n_resamples,
            chunk_bytes=chunk_bytes,
        )
    else:
        point, samples = _label_scores(
            y,
            y_rows,
            arrays,
            kind_,
            rows=rows,
            groups=groups,
            n_resamples=n_resamples,
            seed=seed,
            chunk_bytes=chunk_bytes,
            blas_threads=blas_threads,
        )

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
        ranks = np.sort(_resample_ranks(samples[:, ranked]), axis=0)
        for column, index in enumerate(ranked):
            rank_low[int(index)] = int(ranks[k - 1, column])
            rank_high[int(index)] = int(ranks[n_resamples - k, column])
        best = int(ranked[np.argmax(point[ranked])])
        differences = samples[:, best : best + 1] - samples
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
        kind=kind_,
        n_rows=n,
        n_resamples=n_resamples,
        seed=seed,
        alpha=alpha,
        entries=entries,
        best=best,
        tied_with_best=frozenset(int(i) for i in np.flatnonzero(tied)),
        samples=samples if keep_samples else None,
    )
