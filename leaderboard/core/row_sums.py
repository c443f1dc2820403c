"""Bootstrap scores of a statistic of rows (``kinds.base.RowStatistic``): every entry's
columns summed under each resample's counts of rows, or of blocks or groups of rows.

See ``leaderboard.core.bootstrap`` for the method; here are its vectorized sums. Counts are
kept as uint8 for a chunk of resamples sized to ``chunk_bytes`` and multiplied with the
columns one block of rows at a time; with groups (blocks), the columns are summed per group
once and each resample is ``counts (G) @ group sums (G x K)``.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import operator
from collections.abc import Sequence

import numpy as np

from common.parallel import row_parts, run_all
from kinds.base import RowStatistic
from leaderboard.core import resampling
from leaderboard.core.resampling import (
    block_assignment,
    fill_counts,
    group_codes,
    resample_counts,
    resample_group_counts,
    resample_streams,
)

try:  # pinned in requirements.lock (a scikit-learn dependency)
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover - without it BLAS keeps its own thread count
    ThreadpoolController = None

_ROW_CHUNK = 2**22  # rows turned into columns at once when summing per group
_COUNT_ROWS = 2**18  # rows turned into 0/1 columns and cells at once when counting per group
_PATTERN_BITS = 8  # at most this many 0/1 columns counted in one pass (a uint8 pattern)
_PATTERN_CELLS = 2**17  # a pass's cells (groups x patterns) at most, when more than one column
_HELD_BYTES = 2**26  # counts, columns or per-group sums held at once beyond the sums' own
_BLOCK_BYTES = 16 * 2**20  # float block of counts or columns multiplied at once
_EXACT_FLOAT32_ROWS = 2**24
_CACHED_COUNTS_BYTES = 2**21  # float counts of resamples x groups multiplied at once, exact sums


def _n_columns(statistic: RowStatistic, n_entries: int) -> int:
    return statistic.per_entry * n_entries + statistic.shared


def _indicators(
    y: np.ndarray,
    preds: Sequence[np.ndarray],
    statistic: RowStatistic,
    dtype: type[np.floating],
) -> np.ndarray:
    """Per-row columns (each entry's, then the shared ones), stored transposed: (K, rows)."""
    width = statistic.per_entry
    out = np.empty((_n_columns(statistic, len(preds)), y.shape[0]), dtype=dtype)
    for e, p in enumerate(preds):
        statistic.entry_columns(y, p, out[e * width : (e + 1) * width])
    statistic.shared_columns(y, out[len(preds) * width :])
    return out


def _scores_from_sums(
    sums: np.ndarray, n: float | np.ndarray, n_entries: int, statistic: RowStatistic
) -> np.ndarray:
    """(..., K) sums -> (..., entries) scores, as float64.

    ``n`` is the rows resampled: a number, or one per resample (drawn groups vary in size).
    """
    sums = sums.astype(np.float64)
    width = statistic.per_entry
    entry = sums[..., : n_entries * width].reshape((*sums.shape[:-1], n_entries, width))
    return statistic.scores(entry, sums[..., n_entries * width :], n)


def _float_type(statistic: RowStatistic, n: int) -> type[np.floating]:
    exact = statistic.integer and n < _EXACT_FLOAT32_ROWS
    return np.float32 if exact else np.float64


def _resample_scores(
    y: np.ndarray,
    preds: Sequence[np.ndarray],
    statistic: RowStatistic,
    *,
    n_resamples: int,
    seed: int,
    chunk_bytes: int,
) -> np.ndarray:
    n = y.shape[0]
    n_entries = len(preds)
    n_columns = _n_columns(statistic, n_entries)
    dtype = _float_type(statistic, n)
    itemsize = np.dtype(dtype).itemsize
    chunk = max(1, min(n_resamples, chunk_bytes // n))
    block = max(256, _BLOCK_BYTES // (itemsize * max(chunk, n_columns)))

    kept = resample_counts(seed=seed, n_resamples=n_resamples, n=n)  # small boards
    streams = resample_streams(seed=seed, n_resamples=n_resamples) if kept is None else []
    scores = np.empty((n_resamples, n_entries), dtype=np.float64)
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        counts = fill_counts(streams[start:stop], n) if kept is None else kept[start:stop]
        sums = np.zeros((stop - start, n_columns), dtype=dtype)
        for r0 in range(0, n, block):
            r1 = min(n, r0 + block)
            indicators = _indicators(y[r0:r1], [p[r0:r1] for p in preds], statistic, dtype)
            sums += counts[:, r0:r1].astype(dtype) @ indicators.T
        scores[start:stop] = _scores_from_sums(sums, n, n_entries, statistic)
    return scores


def _group_sums(
    y: np.ndarray,
    preds: Sequence[np.ndarray],
    statistic: RowStatistic,
    codes: np.ndarray,
    n_groups: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(G, K + 1) float64: each group's sums of the columns, then its row count; and the
    K sums over every row (:func:`point`'s)."""
    if _counted(statistic, n_groups):  # exact integer counts: the groups' add up to the rows' own
        sums = _group_counts(y, preds, statistic, codes, n_groups)
        return sums, sums[:, :-1].sum(axis=0)
    return _weighted_sums(y, preds, statistic, codes, n_groups)


def _counted(statistic: RowStatistic, n_groups: int) -> bool:
    """Whether the groups' sums are counted (:func:`_group_counts`): 0/1 columns, and few
    enough groups that a column's two cells a group stay in the cache (blocks, entities of
    a few thousand rows); more groups are summed with weights, whose sums are the same."""
    return statistic.binary and n_groups <= _PATTERN_CELLS // 2


def _weighted_sums(
    y: np.ndarray,
    preds: Sequence[np.ndarray],
    statistic: RowStatistic,
    codes: np.ndarray,
    n_groups: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The (G, K + 1) group sums of :func:`_group_sums`, and the K sums over every row
    (:func:`point`'s), of columns of any value: one weighted ``bincount`` a column. Each
    chunk of rows' columns is made once for both, an entry (or the shared ones) a piece,
    the pieces on every thread; each sum adds its chunks' in the chunks' order, as one
    thread did: the same floats (float sums depend on their order)."""
    n, n_entries, width = y.shape[0], len(preds), statistic.per_entry
    n_columns = _n_columns(statistic, n_entries)
    chunks = [slice(r0, min(n, r0 + _ROW_CHUNK)) for r0 in range(0, n, _ROW_CHUNK)]
    sources: list[int | None] = [*range(n_entries)]
    if statistic.shared:
        sources.append(None)  # the shared columns
    # Sums over the rows as the statistic's own entry_sums / shared_sums add them.
    own_entry = type(statistic).entry_sums is not RowStatistic.entry_sums
    own_shared = type(statistic).shared_sums is not RowStatistic.shared_sums

    def piece(part: slice, source: int | None) -> tuple[list[np.ndarray], np.ndarray]:
        truth, at = y[part], codes[part]
        if source is None:
            columns = np.empty((statistic.shared, truth.shape[0]), dtype=np.float64)
            statistic.shared_columns(truth, columns)
            total = statistic.shared_sums(truth) if own_shared else columns.sum(axis=1)
        else:
            pred = preds[source][part]
            columns = np.empty((width, truth.shape[0]), dtype=np.float64)
            statistic.entry_columns(truth, pred, columns)
            total = statistic.entry_sums(truth, pred) if own_entry else columns.sum(axis=1)
        return [np.bincount(at, weights=c, minlength=n_groups) for c in columns], total

    sums = np.zeros((n_groups, n_columns + 1), dtype=np.float64)
    totals = np.zeros(n_columns, dtype=np.float64)
    # Every piece at once while their per-group sums are small (blocks); one at a time,
    # each added as it comes, with many groups (no more than one piece's held).
    calls = [functools.partial(piece, part, s) for part in chunks for s in sources]
    if len(chunks) * n_groups * n_columns * 8 <= _HELD_BYTES:
        done = iter(run_all(calls, elements=n * n_columns))
    else:
        done = map(operator.call, calls)
    for source, (per_group, total) in zip(sources * len(chunks), done, strict=True):
        first = n_entries * width if source is None else source * width
        for j, column in enumerate(per_group):
            sums[:, first + j] += column
        totals[first : first + total.shape[0]] += total
    sums[:, n_columns] = np.bincount(codes, minlength=n_groups)  # integers: exact in any order
    return sums, totals



def _count_passes(n_columns: int, n_groups: int) -> list[tuple[int, int]]:
    """The columns counted together, ``(first, stop)`` per pass: as many as keep a pass's
    cells (groups x patterns of its columns) within ``_PATTERN_CELLS``, evenly split."""
    fit = (_PATTERN_CELLS // max(1, n_groups)).bit_length() - 1
    bits = max(1, min(_PATTERN_BITS, n_columns, fit))
    n_passes = -(-n_columns // bits)
    bounds = [i * n_columns // n_passes for i in range(n_passes + 1)]
    return list(itertools.pairwise(bounds))


def _group_counts(
    y: np.ndarray,
    preds: Sequence[np.ndarray],
    statistic: RowStatistic,
    codes: np.ndarray,
    n_groups: int,
    *,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`_group_sums` of a statistic whose columns hold 0 or 1 (``binary``): the rows
    of each group and pattern of a few columns counted with one integer ``bincount`` a
    pass (cell ``group << bits | pattern``), in row blocks on every thread. Counts are
    exact, and so were the float sums of 0/1 weights: the same numbers, in a third of
    the passes over the rows and without a float column per row.

    With ``mask``, ``y`` and ``preds`` are every row and only the rows it sets count (the
    k-th of them in group ``codes[k]``): each block's are gathered while they are in the
    cache and prepared there by the statistic (``prepare`` works row by row for a binary
    statistic), instead of a copy of the selected rows made first."""
    n_columns = _n_columns(statistic, len(preds))
    passes = _count_passes(n_columns, n_groups)
    size = max(1024, min(_COUNT_ROWS, _HELD_BYTES // 4 // n_columns))  # the 0/1 columns
    cells_bytes = 8 * sum(n_groups << (stop - first) for first, stop in passes)

    def count(rows: slice, at: int) -> list[np.ndarray]:
        totals = [np.zeros(n_groups << (stop - first), dtype=np.int64) for first, stop in passes]
        columns = np.empty((n_columns, size), dtype=np.uint8)
        pattern = np.empty(size, dtype=np.uint8)
        bit = np.empty(size, dtype=np.uint8)
        cells = np.empty(size, dtype=np.intp)
        for r0 in range(rows.start, rows.stop, size):
            r1 = min(rows.stop, r0 + size)
            if mask is None:
                truth, entries = y[r0:r1], [p[r0:r1] for p in preds]
            else:
                found = np.flatnonzero(mask[r0:r1])
                truth = y[r0:r1].take(found)
                truth, entries = statistic.prepare(truth, [p[r0:r1].take(found) for p in preds])
            m = truth.shape[0]
            _write_columns(truth, entries, statistic, columns[:, :m])
            for total, (first, stop) in zip(totals, passes, strict=True):
                np.left_shift(codes[at : at + m], stop - first, out=cells[:m], dtype=np.intp)
                np.copyto(pattern[:m], columns[first, :m])
                for shift, j in enumerate(range(first + 1, stop), start=1):
                    np.left_shift(columns[j, :m], shift, out=bit[:m])
                    pattern[:m] |= bit[:m]
                cells[:m] += pattern[:m]
                total += np.bincount(cells[:m], minlength=total.size)
            at += m
        return totals

    parts = row_parts(y.shape[0], per_row=len(passes), most=max(1, _HELD_BYTES // cells_bytes))
    if mask is None:
        starts = [part.start for part in parts]
    else:
        starts = np.cumsum([0] + [np.count_nonzero(mask[part]) for part in parts[:-1]]).tolist()
    counted = run_all(
        [lambda part=part, at=at: count(part, at) for part, at in zip(parts, starts, strict=True)]
    )
    sums = np.empty((n_groups, n_columns + 1), dtype=np.float64)
    for i, (first, stop) in enumerate(passes):
        table = np.sum([part[i] for part in counted], axis=0)
        table = table.reshape(n_groups, 1 << (stop - first))
        patterns = np.arange(1 << (stop - first))
        for j in range(first, stop):
            sums[:, j] = table[:, (patterns >> (j - first)) & 1 == 1].sum(axis=1)
        if i == 0:
            sums[:, n_columns] = table.sum(axis=1)
    return sums


def _write_columns(
    y: np.ndarray, preds: Sequence[np.ndarray], statistic: RowStatistic, out: np.ndarray
) -> None:
    """Every entry's columns, then the shared ones, into ``out`` (columns x rows)."""
    width = statistic.per_entry
    for e, p in enumerate(preds):
        statistic.entry_columns(y, p, out[e * width : (e + 1) * width])
    statistic.shared_columns(y, out[len(preds) * width :])


def _group_resample_scores(
    group_sums: np.ndarray,
    n_entries: int,
    statistic: RowStatistic,
    *,
    n_resamples: int,
    seed: int,
    chunk_bytes: int,
    blas_threads: int | None = None,
) -> np.ndarray:
    """Scores per resample when groups of rows are drawn (float64; integer columns exact),
    from the groups' sums (:func:`_group_sums`); BLAS capped at ``blas_threads``."""
    n_groups = group_sums.shape[0]
    chunk = max(1, min(n_resamples, chunk_bytes // (8 * n_groups)))
    if statistic.integer:  # exact in any chunk: one that stays in the cache, reused
        chunk = min(chunk, max(1, _CACHED_COUNTS_BYTES // (8 * n_groups)))
    buffer = np.empty((chunk, n_groups), dtype=np.float64)
    scores = np.empty((n_resamples, n_entries), dtype=np.float64)
    # The random blocks' counts (and few groups') are the same for every board and cell of
    # that many groups: kept per process, the same numbers as drawing them here.
    kept = resample_counts(seed=seed, n_resamples=n_resamples, n=n_groups)
    draws = (
        resample_group_counts(n_groups=n_groups, seed=seed, n_resamples=n_resamples)
        if kept is None
        else iter(())
    )
    with _blas_limit(blas_threads):
        for start in range(0, n_resamples, chunk):
            stop = min(n_resamples, start + chunk)
            counts = buffer[: stop - start]
            if kept is not None:
                np.copyto(counts, kept[start:stop])
            else:
                for line in counts:
                    line[:] = next(draws)
            sums = counts @ group_sums  # integer columns stay below 2**53: exact
            rows = sums[:, -1:]
            scores[start:stop] = _scores_from_sums(sums[:, :-1], rows, n_entries, statistic)
    return scores


def point(y: np.ndarray, preds: Sequence[np.ndarray], statistic: RowStatistic) -> np.ndarray:
    """Scores on the rows themselves, from the same sums in float64 (integer columns:
    exact counts), a chunk of rows and one entry at a time."""
    n, width = y.shape[0], statistic.per_entry
    sums = np.zeros(_n_columns(statistic, len(preds)), dtype=np.float64)
    for r0 in range(0, n, _ROW_CHUNK):
        part = slice(r0, r0 + _ROW_CHUNK)
        for e, p in enumerate(preds):
            sums[e * width : (e + 1) * width] += statistic.entry_sums(y[part], p[part])
        sums[len(preds) * width :] += statistic.shared_sums(y[part])
    return _scores_from_sums(sums, n, len(preds), statistic)


_controller: list = []  # this process's ThreadpoolController, made on first use


def _blas_limit(threads: int | None) -> contextlib.AbstractContextManager:
    """BLAS capped at ``threads`` for a block (nothing when None). The libraries are
    looked up once per process: ``threadpool_limits`` walks every loaded library on each
    call, 10-40 ms in a worker that imported the platform (a transfer cell's whole
    bootstrap takes about that)."""
    if threads is None or ThreadpoolController is None:
        return contextlib.nullcontext()
    if not _controller:
        _controller.append(ThreadpoolController())
    return _controller[0].limit(limits=threads, user_api="blas")


def counted_in_place(n: int) -> bool:
    """Whether ``n`` selected rows are resampled in random blocks, so that a statistic of
    0/1 columns counts them where they are (:func:`masked_row_scores`)."""
    return n > resampling.ROW_BOOTSTRAP_MAX_ROWS


def masked_row_scores(
    y: np.ndarray,
    arrays: Sequence[np.ndarray],
    statistic: RowStatistic,
    *,
    mask: np.ndarray,
    n_resamples: int,
    seed: int,
    chunk_bytes: int,
    blas_threads: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`row_scores` gives for the rows ``mask`` sets (more than
    ``ROW_BOOTSTRAP_MAX_ROWS``: random blocks), for a ``binary`` statistic, from every row
    of ``y`` and ``arrays`` as given (not yet prepared): the selected rows are counted
    where they are, a block at a time (10M rows, half selected: 0.02 s against 0.03-0.045
    s to copy them out first). ValueError where the statistic refuses a value."""
    n = int(np.count_nonzero(mask))
    codes = block_assignment(n=n, seed=seed)
    sums = _group_counts(y, arrays, statistic, codes, resampling.N_BLOCKS, mask=mask)
    resampled = (n_resamples, seed, chunk_bytes, blas_threads)
    return _group_scores(sums, sums[:, :-1].sum(axis=0), n, len(arrays), statistic, *resampled)


def _group_scores(
    group_sums: np.ndarray,
    totals: np.ndarray,
    n: int,
    n_entries: int,
    statistic: RowStatistic,
    n_resamples: int,
    seed: int,
    chunk_bytes: int,
    blas_threads: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Point scores from the rows' ``totals`` and resample scores from the groups' sums
    (``n_resamples`` drawn from ``seed`` in chunks of ``chunk_bytes``)."""
    points = _scores_from_sums(totals, n, n_entries, statistic)
    samples = _group_resample_scores(
        group_sums,
        n_entries,
        statistic,
        n_resamples=n_resamples,
        seed=seed,
        chunk_bytes=chunk_bytes,
        blas_threads=blas_threads,
    )
    return points, samples


def row_scores(
    y: np.ndarray,
    y_rows: np.ndarray,
    arrays: Sequence[np.ndarray],
    statistic: RowStatistic,
    *,
    rows: np.ndarray | None,
    groups: np.ndarray | None,
    n_resamples: int,
    seed: int,
    chunk_bytes: int,
    blas_threads: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Point scores and resample scores of a statistic of rows (rows, blocks or groups)."""
    n = y_rows.shape[0]
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != np.asarray(y).shape:
            raise ValueError(f"groups has shape {groups.shape}, expected {np.asarray(y).shape}")
        codes, n_groups = group_codes(groups if rows is None else groups[np.asarray(rows)])
    elif n > resampling.ROW_BOOTSTRAP_MAX_ROWS:
        codes, n_groups = block_assignment(n=n, seed=seed), resampling.N_BLOCKS
    else:
        codes, n_groups = None, 0
    if codes is None:
        points = point(y_rows, arrays, statistic)
        with _blas_limit(blas_threads):
            samples = _resample_scores(
                y_rows,
                arrays,
                statistic,
                n_resamples=n_resamples,
                seed=seed,
                chunk_bytes=chunk_bytes,
            )
        return points, samples
    group_sums, totals = _group_sums(y_rows, arrays, statistic, codes, n_groups)
    resampled = (n_resamples, seed, chunk_bytes, blas_threads)
    return _group_scores(group_sums, totals, n, len(arrays), statistic, *resampled)
