"""Exact id-set checks without a hash table of strings.

Arrow's hash kernels build a table of Python-free strings, but at tens of millions of ids
they cost about a microsecond each. In order of preference:

- ids numbered in row order, zero-padded or not (``r000042``, ``r42``: ``common.numbered``)
  are distinct by their integers; their shape is kept (:attr:`IdIndex.shape`), and the
  import stores the test ids' shape with the solution, so scoring never looks for it;
- ids that are a prefix and a canonical integer in another order are distinct when the
  integers are (a pass over the integers, no strings); when those integers are dense
  enough (``common.numbered.Spread``: a catalog split at random) the shape is kept too, and
  scoring places ids by their integers, with no key table;
- ids of any other shape (UUIDs, free strings) get one 64-bit key each (``common.idkeys``)
  in a table: every key finding its own row proves them distinct, and two columns pair up
  when every key of one finds a row of the other and the pairs agree byte for byte;
- otherwise each id's UTF-8 bytes are read as a few 64-bit words (zero-padded, plus the
  length), mixed into one key, and the keys are sorted.

Equal keys never stand for equal ids: a pairing is confirmed by the ids' bytes. Any doubt
(equal keys, ids longer than ``MAX_BYTES``, missing ids) sends the caller to the exact Arrow
path, which also names the offending ids. Two columns holding the same ids in the same
order (a solution in test's order) pair up by one equality.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from common import idkeys
from common.arrowtools import same_memory
from common.numbered import (
    IdShape,
    counted_from_values,
    counted_prefix,
    counted_values,
    numbered_shape,
    spread_from_values,
)

MAX_BYTES = 64
_BLOCK = 1 << 20  # ids a block, where a pass needs no array of the column's size
CHUNK_BYTES = 1 << 24  # gather index memory per chunk
MIX = (
    np.uint64(0x9E3779B97F4A7C15),
    np.uint64(0xBF58476D1CE4E5B9),
    np.uint64(0x94D049BB133111EB),
)


class IdIndex:
    """Keys and sort order of a text id column without missing values; ``source``: the
    column as read (integers, say) when ``ids`` is its text, so that a check of the same
    column uses this text instead of making it again."""

    def __init__(self, ids: pa.Array, *, source: pa.Array | None = None) -> None:
        self.source = source
        if not pa.types.is_large_string(ids.type):
            ids = ids.cast(pa.string())  # no copy for text; 32-bit offsets
        self.n = len(ids)
        offsets = self._raw_offsets(ids)
        longest = max(  # a block at a time: no lengths of the column's size
            (int(np.diff(offsets[s : s + _BLOCK + 1]).max()) for s in range(0, self.n, _BLOCK)),
            default=0,
        )
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

    @cached_property
    def shape(self) -> IdShape:
        """The ids' Numbered, Counted or Spread shape (``common.numbered``), or None."""
        if not self.usable or pa.types.is_large_string(self.ids.type):
            return None
        numbered = numbered_shape(self.ids)
        if numbered is not None:
            return numbered
        counted = self._counted
        if counted is None:
            return None
        return counted_from_values(*counted) or spread_from_values(*counted)

    @cached_property
    def _counted(self) -> tuple[bytes, np.ndarray] | None:
        """The first id's prefix and each id's integer, when every id is that prefix and a
        canonical decimal (``common.numbered.counted_values``); read once for the shape
        and for :meth:`all_distinct`."""
        prefix = counted_prefix(self.ids)
        values = None if prefix is None else counted_values(self.ids, prefix)
        return None if prefix is None or values is None else (prefix, values)

    def proven_without_keys(self) -> bool:
        """Whether :meth:`all_distinct` proves these ids without a key table (a numbered or
        counted shape, or a prefix and distinct integers in another order)."""
        return self.usable and (self.n == 0 or self.shape is not None or self._counted is not None)

    @cached_property
    def _bytes(self) -> idkeys.IdBytes | None:
        return None if pa.types.is_large_string(self.ids.type) else idkeys.id_bytes(self.ids)

    @cached_property
    def _fast_keys(self) -> np.ndarray | None:
        found = self._bytes
        return None if found is None else idkeys.id_keys(found)

    @cached_property
    def _table(self) -> idkeys.KeyTable | None:
        keys = self._fast_keys
        return None if keys is None else idkeys.KeyTable.build(keys)

    def made_key_table(self) -> idkeys.KeyTable | None:
        """The table of the ids' keys the proof of :meth:`all_distinct` made, if it made one
        (the import stores it beside the solution, ``common.keyfile``); never made here."""
        return self.__dict__.get("_table")

    def release(self) -> idkeys.KeyTable | None:
        """:meth:`made_key_table`, and everything the proofs made of the ids (keys, padded
        bytes, the table, a sort order) let go of by the index: its shape stays."""
        table = self.made_key_table()
        for made in ("_table", "_fast_keys", "_bytes", "keys", "order", "_data", "_offsets"):
            self.__dict__.pop(made, None)
        return table

    def all_distinct(self) -> bool:
        """True when the ids are proven pairwise distinct (module docstring); False leaves
        it to the exact path."""
        if not self.usable:
            return False
        if self.n == 0 or self.shape is not None:
            return True
        integers = self._prefixed_integers()
        if integers is not None:
            return _distinct_integers(integers)
        if self._fast_keys is not None:
            table = self._table
            return table is not None and table.all_own(self._fast_keys)
        ordered = np.sort(self.keys)
        return not bool(np.any(ordered[1:] == ordered[:-1]))

    def _prefixed_integers(self) -> np.ndarray | None:
        """Each id's integer when every id is the first id's prefix and a canonical
        decimal (ids in another order than their integers); else None."""
        if pa.types.is_large_string(self.ids.type):
            return None
        counted = self._counted
        return None if counted is None else counted[1]


def _distinct_integers(values: np.ndarray) -> bool:
    """Whether the integers are pairwise distinct: marks in a bit per value when they span
    little more than their count, else a sort of the integers."""
    low, high = int(values.min()), int(values.max())
    if high - low < 4 * values.size + 1024:
        return bool(np.bincount(values - low).max() <= 1)
    ordered = np.sort(values)
    return not bool(np.any(ordered[1:] == ordered[:-1]))


_PEEK = 1024  # ids compared before comparing them all: a shuffled column differs at once


def same_ids_in_order(first: pa.Array, second: pa.Array) -> bool:
    """Whether two id columns (without missing ids) hold the same ids in the same order:
    at once for one array held twice (``common.arrowtools.same_memory``), else one
    comparison (of the first ids, then of them all)."""
    if len(first) != len(second):
        return False
    if len(first) == 0 or same_memory(first, second):
        return True
    return all(
        bool(pc.all(pc.equal(a, b)).as_py())
        for a, b in ((first[:_PEEK], second[:_PEEK]), (first, second))
    )


def same_set(first: IdIndex, second: IdIndex) -> np.ndarray | None:
    """For two distinct-id columns holding the same ids: the row of ``first`` of each row of
    ``second``. None when that is not proven (then check exactly another way)."""
    if not (first.usable and second.usable) or first.n != second.n:
        return None
    if first.n == 0 or same_ids_in_order(first.ids, second.ids):
        return np.arange(first.n, dtype=np.int64)  # the same ids in the same order
    table, theirs = first._table, first._bytes
    if table is not None and theirs is not None and not pa.types.is_large_string(second.ids.type):
        mine = idkeys.id_bytes(second.ids, width=theirs.width)  # keyed as the first's are
        if mine is None:
            return None
        where = table.find(idkeys.id_keys(mine))
        if (where < 0).any():
            return None
        hit = np.zeros(first.n, dtype=bool)
        hit[where] = True
        return where if hit.all() and idkeys.same_rows([mine], theirs, where) else None
    if not np.array_equal(first.keys[first.order], second.keys[second.order]):
        return None
    where = np.empty(first.n, dtype=np.int64)
    where[second.order] = first.order
    paired = first.ids.take(pa.array(where))
    if not pc.all(pc.equal(paired, second.ids)).as_py() and first.n:
        return None  # equal keys, different ids: let the exact path decide
    return where
