"""The draws of the paired bootstrap (``leaderboard.core.bootstrap``), shared by the flip
intervals (``leaderboard.core.flipboard``): one seeded generator per resample, counts of
rows or groups drawn, and the random blocks of large boards.

Resample ``b`` uses child ``b`` of ``np.random.SeedSequence(seed)``, so a result depends
only on ``(seed, b, n)``. Above ``ROW_BOOTSTRAP_MAX_ROWS`` rows each row is put in one of
``N_BLOCKS`` random blocks by the generator of ``SeedSequence(seed, spawn_key=(2**31,))``.

The two sizes are chosen so that no bootstrap draws more than ``B x 2**14`` numbers: up to
``2**14`` rows the rows themselves are drawn (their counts fit the per-process cache below,
so every bootstrap on those rows after the first only multiplies), above it 4,096 blocks of
at least four random rows each (their counts, the same for every board and cell above the
size, are drawn once per process too). Drawing 1,000 resamples of a million rows took 1.7 s
of a transfer cell's 2 s (issue 43); a bootstrap of 4,096 random blocks estimates the
variance of a sum with a relative standard error of about 2% (sqrt(2 / 4,096)), which moves
a 95% interval's coverage by well under a point (``tests/leaderboard_tests/
test_bootstrap_block_coverage.py`` plants the truth and counts it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence

import numpy as np

ROW_BOOTSTRAP_MAX_ROWS = 2**14  # above this, random blocks of rows are resampled
N_BLOCKS = 2**12
_BLOCK_STREAM = 2**31  # spawn key of the block assignment's generator (no resample uses it)


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
    codes, n_groups = group_codes(groups)
    for counts in resample_group_counts(n_groups=n_groups, seed=seed, n_resamples=n_resamples):
        yield counts[codes]


def block_assignment(*, n: int, seed: int) -> np.ndarray:
    """The random block (0 .. N_BLOCKS - 1) of each of ``n`` rows, for large boards, kept
    read-only (every cell of a task's column, every refresh of its board draws the same:
    0.02-0.05 s of a 10M-row transfer cell; a board's public and private rows both kept)."""
    key = (n, seed)
    found = _blocks.get(key)
    if found is not None:
        return found
    child = np.random.SeedSequence(seed, spawn_key=(_BLOCK_STREAM,))
    generator = np.random.Generator(np.random.PCG64(child))
    blocks = generator.integers(0, N_BLOCKS, size=n, dtype=np.uint16)
    return _blocks.keep(key, blocks, BLOCKS_CACHE_BYTES)


def group_codes(groups: np.ndarray) -> tuple[np.ndarray, int]:
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


def fill_counts(generators: Sequence[np.random.Generator], n: int) -> np.ndarray:
    """How often each row is drawn, one line per resample (uint8 unless a count overflows)."""
    counts: np.ndarray = np.empty((len(generators), n), dtype=np.uint8)
    for j, generator in enumerate(generators):
        drawn = np.bincount(generator.integers(0, n, size=n), minlength=n)
        if counts.dtype == np.uint8 and drawn.max() > np.iinfo(np.uint8).max:
            counts = counts.astype(np.int32)  # never seen in practice; stay exact anyway
        counts[j] = drawn
    return counts


class _Kept:
    """Read-only arrays drawn once per process, by key; the least recently used go first
    once they hold more than the budget given with each new one (an array larger than it
    is not kept)."""

    def __init__(self) -> None:
        self._arrays: OrderedDict[tuple[int, ...], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, ...]) -> np.ndarray | None:
        with self._lock:
            found = self._arrays.get(key)
            if found is not None:
                self._arrays.move_to_end(key)
            return found

    def keep(self, key: tuple[int, ...], array: np.ndarray, budget: int) -> np.ndarray:
        """``array``, made read-only, and kept when it fits ``budget``."""
        array.flags.writeable = False
        if array.nbytes <= budget:
            with self._lock:
                self._arrays[key] = array
                while sum(kept.nbytes for kept in self._arrays.values()) > budget:
                    self._arrays.popitem(last=False)
        return array


# Small boards' count matrices, kept per process: (seed, resamples, rows) -> (B, n) counts.
# The draws depend on nothing else, so every bootstrap over ``n`` rows with the same seed
# (each algorithm's cell on one task, each refresh of one board) draws the same counts; at a
# few hundred rows drawing them is most of a bootstrap's time. At most this many bytes.
COUNTS_CACHE_BYTES = 64 * 2**20
_counts = _Kept()
# The block assignments drawn, (n, seed) -> blocks, at most this many bytes.
BLOCKS_CACHE_BYTES = 128 * 2**20
_blocks = _Kept()


def resample_counts(*, seed: int, n_resamples: int, n: int) -> np.ndarray | None:
    """``fill_counts(resample_streams(seed, n_resamples), n)``, drawn once per process and
    kept read-only (least recently used first out), when it fits a quarter of
    ``COUNTS_CACHE_BYTES``; None when larger (draw them in chunks)."""
    if n_resamples * n > COUNTS_CACHE_BYTES // 4:
        return None
    key = (seed, n_resamples, n)
    found = _counts.get(key)
    if found is not None:
        return found
    counts = fill_counts(resample_streams(seed=seed, n_resamples=n_resamples), n)
    return _counts.keep(key, counts, COUNTS_CACHE_BYTES)
