"""Exact id-set checks with numpy sorts instead of a hash table of strings.

Arrow's hash kernels build a table of Python-free strings, but at tens of millions of ids
they cost about a microsecond each. Ids are short: each id's UTF-8 bytes are read as a few
64-bit words (zero-padded, plus the length), mixed into one 64-bit key, and the keys are
sorted. Distinct keys prove distinct ids; when the keys of two columns pair up, each pair of
ids is compared with Arrow, so equality is proven, never assumed from a hash. Any doubt (equal
keys, ids longer than ``MAX_BYTES``, missing ids) sends the caller to the exact Arrow path,
which also names the offending ids. Two shortcuts skip the keys: ids numbered in row order
are distinct by their digits (``common.numbered``), and two columns holding the same ids in
the same order (a solution in test's order) pair up by one equality.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from common.numbered import numbered_shape

MAX_BYTES = 64
CHUNK_BYTES = 1 << 24  # gather index memory per chunk
MIX = (
    np.uint64(0x9E3779B97F4A7C15),
    np.uint64(0xBF58476D1CE4E5B9),
    np.uint64(0x94D049BB133111EB),
)


class IdIndex:
    """Keys and sort order of a text id column without missing values."""

    def __init__(self, ids: pa.Array) -> None:
        if not pa.types.is_large_string(ids.type):
            ids = ids.cast(pa.string())  # no copy for text; 32-bit offsets
        self.n = len(ids)
        longest = int(np.diff(self._raw_offsets(ids)).max()) if self.n else 0
        self.usable = ids.null_count == 0 and longest <= MAX_BYTES
        self._width = max(1, -(-longest // 8))
        self.ids = ids  # keeps the buffers alive

    @staticmethod
    def _raw_offsets(ids: pa.Array) -> np.ndarray:
        wide = np.int64 if pa.types.is_large_string(ids.type) else np.int32
        return np.frombuffer(ids.buffers()[1], dtype=wide)[ids.offset : ids.offset + len(ids) + 1]

    # Made only when keys are (not for numbered ids, nor for a second column in the same
    # order): 64-bit offsets and lengths and a padded copy of the bytes, ~20 bytes per id.
    @cached_property
    def _offsets(self) -> np.ndarray:
        return self._raw_offsets(self.ids).astype(np.int64)

    @cached_property
    def _lengths(self) -> np.ndarray:
        return np.diff(self._offsets)

    @cached_property
    def _data(self) -> np.ndarray:
        data = self.ids.buffers()[2]
        raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, np.uint8)
        return np.concatenate([raw, np.zeros(self._width * 8, dtype=np.uint8)])

    def words(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), width + 1) uint64: the zero-padded bytes and the length of each id."""
        width = self._width * 8
        out = np.empty((len(rows), self._width + 1), dtype=np.uint64)
        step = max(1, CHUNK_BYTES // (width * 8))
        span = np.arange(width)
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            lengths = self._lengths[chunk]
            gathered = self._data[self._offsets[chunk][:, None] + span]
            gathered[span[None, :] >= lengths[:, None]] = 0
            out[start : start + len(chunk), :-1] = gathered.view(np.uint64)
            out[start : start + len(chunk), -1] = lengths.astype(np.uint64)
        return out

    @cached_property
    def keys(self) -> np.ndarray:
        """One 64-bit key per id (equal ids, equal keys)."""
        keys = np.empty(self.n, dtype=np.uint64)
        step = max(1, CHUNK_BYTES // (self._width * 64))
        with np.errstate(over="ignore"):
            for start in range(0, self.n, step):
                words = self.words(np.arange(start, min(start + step, self.n)))
                key = np.zeros(len(words), dtype=np.uint64)
                for column in words.T:
                    key = (key ^ column) * MIX[0]
                    key ^= key >> np.uint64(31)
                    key *= MIX[1]
                key ^= key >> np.uint64(29)
                keys[start : start + len(words)] = key * MIX[2]
        return keys

    @cached_property
    def order(self) -> np.ndarray:
        """Rows by key (any order among equal keys)."""
        return np.argsort(self.keys)

    def all_distinct(self) -> bool:
        """True when the keys (hence the ids) are pairwise distinct; numbered ids
        (``common.numbered``: prefix + an integer counting up by row) are without a sort."""
        if not self.usable:
            return False
        if not pa.types.is_large_string(self.ids.type) and numbered_shape(self.ids) is not None:
            return True
        ordered = np.sort(self.keys)
        return not bool(np.any(ordered[1:] == ordered[:-1]))


def same_set(first: IdIndex, second: IdIndex) -> np.ndarray | None:
    """For two distinct-id columns holding the same ids: the row of ``first`` of each row of
    ``second``. None when that is not proven (then check exactly another way)."""
    if not (first.usable and second.usable) or first.n != second.n:
        return None
    if pc.all(pc.equal(first.ids, second.ids)).as_py() or first.n == 0:
        return np.arange(first.n, dtype=np.int64)  # the same ids in the same order
    if not np.array_equal(first.keys[first.order], second.keys[second.order]):
        return None
    where = np.empty(first.n, dtype=np.int64)
    where[second.order] = first.order
    paired = first.ids.take(pa.array(where))
    if not pc.all(pc.equal(paired, second.ids)).as_py() and first.n:
        return None  # equal keys, different ids: let the exact path decide
    return where
