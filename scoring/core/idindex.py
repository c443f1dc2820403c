"""Find the solution row of each submission id, without a hash table when ids allow it.

Test ids are usually a fixed prefix and an integer (``r000123``, ``id-42``, ``17``). A
solution whose row ``r`` holds the prefix and ``low + r`` (zero-padded or not:
``common.numbered``; the import proves its shape once and stores it with the solution)
places a whole shuffled submission by the ids' integers (:func:`permutation_of_numbered`),
as does one whose ids are the prefix and distinct integers in any order (``Spread``: a
catalog split at random), through the table of its rows by integer; ids of any other
shape (UUIDs, free strings) by their 64-bit keys in a table of the solution's
(:func:`permutation_by_keys`, ``common.idkeys``), each confirmed by its bytes.
Those two answer only a complete, exact permutation; anything else (a duplicate, a
missing or unknown id) is decided by :func:`locate`, which names every problem: when every
solution id has the prefix-and-integer shape and the integers are distinct and dense, the
integer part of a submission id gives its only possible solution row (row = integer -
first, or through a dense lookup array), confirmed by one vectorized string equality, so
``r0123`` never passes for ``r123``; any other solution falls back to one hash probe
(``pyarrow.compute.index_in``).

Either way the answer is exact: per submission row, the solution row holding the same
id, or -1 when no solution id is equal to it.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from common import keyfile
from common.idkeys import (
    KEYS_MIN_ROWS,
    IdBytes,
    KeyTable,
    id_bytes,
    id_keys,
    id_parts,
    same_rows,
)
from common.numbered import (
    MAX_DIGITS,
    TRAILING_DIGIT_BYTES,
    Counted,
    IdShape,
    Numbered,
    Spread,
    counted_values,
    digits_value,
    fixed_width_bytes,
    numbered_shape,
    numbered_values,
    prefixed_shape,
    spread_rows,
)
from common.parallel import map_rows

_TRAILING_DIGITS = re.compile(r"[0-9]+\Z")
T = TypeVar("T")
_MAX_SPAN_PER_ROW = 2  # dense lookup arrays stay within 2 entries per solution row
# ``shape=`` not given: the solution's shape is found (once per array) from its ids.
DETECT: object = object()


@dataclass(frozen=True, eq=False)
class IdPattern:
    """Solution ids are ``prefix`` + a decimal integer; ``lookup`` maps integer - low to row.

    ``lookup`` is None when the integers are ``low, low + 1, ...`` in solution order.
    """

    prefix: str
    low: int
    span: int
    lookup: np.ndarray | None


def locate(ids: pa.Array | pa.ChunkedArray, solution_ids: pa.Array) -> np.ndarray:
    """Per row of ``ids`` (strings), the row of ``solution_ids`` equal to it, or -1."""
    pattern = id_pattern(solution_ids)
    if pattern is None:
        found = pc.index_in(ids, value_set=solution_ids)
        return np.asarray(pc.fill_null(found, -1).to_numpy(), dtype=np.int64)
    candidate = _candidates(ids, pattern)
    # One vectorized equality confirms each candidate (rows without one compare to row 0).
    at = solution_ids.take(pa.array(np.maximum(candidate, 0)))
    same = pc.equal(ids, at)
    same = np.asarray(same.to_numpy(zero_copy_only=False), dtype=bool)
    return np.where(same & (candidate >= 0), candidate, -1)


def permutation_of_numbered(
    ids: pa.Array | pa.ChunkedArray, solution_ids: pa.Array, *, shape: object = DETECT
) -> np.ndarray | None:
    """The common case in a few numpy passes over the raw bytes, or None.

    ``shape`` is the solution's shape as the import proved it (``Numbered``, ``Counted``,
    ``Spread``, or None: none of them); by default it is found from the solution's ids
    (once per array). A Numbered, Counted or Spread solution places every id by its
    integer, checked by its own bytes. Otherwise, when every id has the byte length of the
    solution's first id,
    solution row ``r`` is
    guessed to hold the prefix followed by the integer ``first + r`` in as many digits;
    each submission id's digits give its guessed row, and one equality of the ids with
    the solution's ids at those rows (compared as fixed-size byte strings) confirms every
    guess. The result is returned only when every solution row is hit once (a
    permutation) and every id is confirmed; anything else (another shape, a duplicate, an
    unknown id) returns None and is decided by the exact paths.
    """
    n = len(solution_ids)
    if len(ids) != n or n == 0 or solution_ids.null_count or ids.null_count:
        return None
    known = solution_shape(solution_ids) if shape is DETECT else shape
    if isinstance(known, Numbered):
        return _permutation_of_canonical(ids, known, n)
    if isinstance(known, Counted):
        return _permutation_of_counted(ids, known, n)
    if isinstance(known, Spread):
        return _permutation_of_spread(ids, solution_ids, known)
    solution_bytes = fixed_width_bytes(solution_ids)
    if solution_bytes is None:
        return None
    width = solution_bytes.shape[1]
    first = bytes(solution_bytes[0])
    digits = TRAILING_DIGIT_BYTES.search(first)
    n_digits = 0 if digits is None else len(first) - digits.start()
    if not 0 < n_digits <= MAX_DIGITS:
        return None
    chunks = ids.chunks if isinstance(ids, pa.ChunkedArray) else [ids]
    sub = [fixed_width_bytes(chunk) for chunk in chunks]
    if any(part is None or part.shape[1] != width for part in sub):
        return None
    low = digits_value(solution_bytes[:1], n_digits)[0]  # type: ignore[index]
    pos = np.concatenate([digits_value(part, n_digits) for part in sub], dtype=np.int64)  # type: ignore[misc]
    pos -= low
    if not (pos.view(np.uint64) < n).all():  # negatives wrap to huge: one pass for both ends
        return None
    hit = np.zeros(n, dtype=bool)
    hit[pos] = True
    if not hit.all():  # n ids guessed onto n rows, some row missed: not a permutation
        return None
    # Every id confirmed byte for byte at its guessed row (``common.idkeys.same_rows``).
    parts = [IdBytes(rows=part, lengths=None) for part in sub]  # type: ignore[arg-type]
    same = same_rows(parts, IdBytes(rows=solution_bytes, lengths=None), pos)
    return pos if same else None


# Per solution ids array (by identity, dropped with the array): what was learnt of it.
_Cache = dict[int, tuple[weakref.ref[pa.Array], object]]
_numbered_shapes: _Cache = {}


def _per_array(cache: _Cache, array: pa.Array, compute: Callable[[pa.Array], T]) -> T:
    """``compute(array)``, once per array (Arrow arrays are unhashable: kept by identity
    and dropped when the array is collected)."""
    key = id(array)
    cached = cache.get(key)
    if cached is not None and cached[0]() is array:
        return cached[1]  # type: ignore[return-value]
    value = compute(array)
    alive = weakref.ref(array, lambda _, key=key: cache.pop(key, None))
    cache[key] = (alive, value)
    return value


def solution_shape(solution_ids: pa.Array) -> IdShape:
    """The solution's Numbered, Counted or Spread shape, if it has one (found once per
    array; an import stores it with the solution, so a task imported since never asks)."""
    return _per_array(_numbered_shapes, solution_ids, _find_shape)


def _find_shape(solution_ids: pa.Array) -> IdShape:
    numbered = numbered_shape(solution_ids)
    return numbered if numbered is not None else prefixed_shape(solution_ids)


def _integers(ids: pa.Array | pa.ChunkedArray, prefix: bytes) -> np.ndarray | None:
    """Each id's integer (int64) when every id is ``prefix`` + a canonical decimal
    (``common.numbered.counted_values``; integer ids of an empty prefix are read as they
    are), chunks on the threads; else None."""
    chunks = ids.chunks if isinstance(ids, pa.ChunkedArray) else [ids]

    def read(part: slice) -> list[np.ndarray] | None:
        out = []
        for chunk in chunks[part]:
            if pa.types.is_integer(chunk.type):
                values = None if prefix else chunk.to_numpy().astype(np.int64, copy=False)
            else:
                values = counted_values(chunk, prefix)
            if values is None:
                return None
            out.append(values)
        return out

    parts = map_rows(read, len(chunks), per_row=len(ids) // max(1, len(chunks)))
    if any(part is None for part in parts):
        return None
    return np.concatenate([values for part in parts for values in part], dtype=np.int64)  # type: ignore[union-attr]


def _permutation_of_counted(
    ids: pa.Array | pa.ChunkedArray, shape: Counted, n: int
) -> np.ndarray | None:
    """``permutation_of_numbered`` for a Counted solution: an id that is the prefix and a
    canonical decimal ``low + r`` is byte for byte solution row ``r``'s id (integer ids
    of an empty prefix are read as they are)."""
    pos = _integers(ids, shape.prefix)
    if pos is None:
        return None
    pos -= shape.low
    if not (pos.view(np.uint64) < n).all():
        return None
    hit = np.zeros(n, dtype=bool)
    hit[pos] = True
    return pos if hit.all() else None


_spread_tables: _Cache = {}


def _spread_rows(solution_ids: pa.Array, shape: Spread) -> np.ndarray | None:
    """The table of a Spread solution's rows by integer (``common.numbered.spread_rows``),
    made once per array; None when the ids do not fit ``shape``."""

    def make(ids: pa.Array) -> np.ndarray | None:
        values = _integers(ids, shape.prefix)
        return None if values is None else spread_rows(values, shape)

    return _per_array(_spread_tables, solution_ids, make)


def _permutation_of_spread(
    ids: pa.Array | pa.ChunkedArray, solution_ids: pa.Array, shape: Spread
) -> np.ndarray | None:
    """``permutation_of_numbered`` for a Spread solution: an id that is the prefix and a
    canonical decimal ``v`` is byte for byte the id of the solution row that holds ``v``
    (the table of rows by integer, made once per solution), as for a Counted solution."""
    n = len(solution_ids)
    rows = _spread_rows(solution_ids, shape)
    if rows is None:
        return None
    offsets = _integers(ids, shape.prefix)
    if offsets is None:
        return None
    offsets -= shape.low
    if not (offsets.view(np.uint64) < shape.span).all():
        return None
    pos = rows[offsets].astype(np.int64, copy=False)
    if (pos < 0).any():  # an integer no solution id has
        return None
    hit = np.zeros(n, dtype=bool)
    hit[pos] = True
    return pos if hit.all() else None


_keyed: _Cache = {}
Keyed = tuple[IdBytes, KeyTable]  # the solution's ids as bytes, and their key table


def _key_table(solution_ids: pa.Array, stored: str | None = None) -> Keyed | None:
    """The ids' bytes and key table: the table read from ``stored`` (the file an import
    wrote beside the solution, ``common.keyfile``) when it is these ids', else made."""
    found = id_bytes(solution_ids)
    if found is None:
        return None
    table = None if stored is None else keyfile.load(stored, found)
    if table is None:
        table = KeyTable.build(id_keys(found))
    return None if table is None else (found, table)


def _keyed_solution(solution_ids: pa.Array, stored: str | None) -> Keyed | None:
    return _per_array(_keyed, solution_ids, lambda ids: _key_table(ids, stored))


def prepare_keys(solution_ids: pa.Array, shape: IdShape, *, stored: str | None = None) -> None:
    """Make now the table of ``solution_ids``' keys that :func:`permutation_by_keys` will
    need (ids known to have no numbered ``shape``, enough of them), read from ``stored``
    when it holds it, or a Spread solution's table of rows by integer: a cold command
    makes it on one core while the file is read on the other."""
    if shape is None and len(solution_ids) >= KEYS_MIN_ROWS and not solution_ids.null_count:
        _keyed_solution(solution_ids, stored)
    elif isinstance(shape, Spread):  # the table of its rows by integer, made the same way
        _spread_rows(solution_ids, shape)


def permutation_by_keys(
    ids: pa.Array | pa.ChunkedArray, solution_ids: pa.Array, *, stored: str | None = None
) -> np.ndarray | None:
    """Solution ids of any shape (UUIDs, free strings): each submission id's row from its
    key in a table of the solution's keys (made once per array, or read from ``stored``),
    then every id confirmed byte for byte at its row. The permutation, or None when any id
    is not found, found twice or not confirmed, or the ids cannot be keyed (then
    :func:`locate` decides)."""
    n = len(solution_ids)
    if len(ids) != n or n < KEYS_MIN_ROWS or solution_ids.null_count or ids.null_count:
        return None
    keyed = _keyed_solution(solution_ids, stored)
    if keyed is None:
        return None
    solution_bytes, table = keyed
    chunks = ids.chunks if isinstance(ids, pa.ChunkedArray) else [ids]
    parts = id_parts([chunk for chunk in chunks if len(chunk)], width=solution_bytes.width)
    if parts is None:
        return None
    pos = table.find(np.concatenate([id_keys(part) for part in parts]))
    if (pos.view(np.uint64) >= n).any():  # not found (-1), or a row no solution has
        return None
    hit = np.zeros(n, dtype=bool)
    hit[pos] = True
    if not hit.all() or not same_rows(parts, solution_bytes, pos):
        return None
    return pos


def _permutation_of_canonical(
    ids: pa.Array | pa.ChunkedArray, shape: Numbered, n: int
) -> np.ndarray | None:
    """``permutation_of_numbered`` for a Numbered solution: an id of the same shape whose
    integer is ``low + r`` is byte for byte solution row ``r``'s id, so the ids are checked
    by their own bytes and no solution id is read."""
    chunks = ids.chunks if isinstance(ids, pa.ChunkedArray) else [ids]

    def read(part: slice) -> list[np.ndarray] | None:
        out = []
        for chunk in chunks[part]:
            rows = fixed_width_bytes(chunk)
            values = None if rows is None else numbered_values(rows, shape)
            if values is None:
                return None
            out.append(values)
        return out

    parts = map_rows(read, len(chunks), per_row=n // max(1, len(chunks)))  # chunks by thread
    if any(part is None for part in parts):
        return None
    pos = np.concatenate([values for part in parts for values in part], dtype=np.int64)  # type: ignore[union-attr]
    pos -= shape.low
    if not (pos.view(np.uint64) < n).all():  # negatives wrap to huge: one pass for both ends
        return None
    hit = np.zeros(n, dtype=bool)
    hit[pos] = True
    return pos if hit.all() else None  # n rows, each hit: a permutation


_patterns: _Cache = {}


def id_pattern(solution_ids: pa.Array) -> IdPattern | None:
    """The prefix-and-integer shape of the solution's ids, or None (cached per array)."""
    return _per_array(_patterns, solution_ids, _detect)


def _detect(solution_ids: pa.Array) -> IdPattern | None:
    n = len(solution_ids)
    if n == 0 or solution_ids.null_count:
        return None
    first = solution_ids[0].as_py()
    digits = _TRAILING_DIGITS.search(first)
    if digits is None:
        return None
    prefix = first[: digits.start()]
    numbers = _parse(solution_ids, prefix)
    if numbers is None or (numbers < 0).any():
        return None
    low, high = int(numbers.min()), int(numbers.max())
    span = high - low + 1
    if span == n and np.array_equal(numbers, np.arange(low, low + n, dtype=np.int64)):
        return IdPattern(prefix=prefix, low=low, span=span, lookup=None)
    if span > _MAX_SPAN_PER_ROW * n + 1024:
        return None
    offsets = numbers - low
    if np.bincount(offsets, minlength=span).max() > 1:  # "r01" and "r1": not one row each
        return None
    lookup = np.full(span, -1, dtype=np.int32 if n < 2**31 else np.int64)
    lookup[offsets] = np.arange(n, dtype=lookup.dtype)
    return IdPattern(prefix=prefix, low=low, span=span, lookup=lookup)


def _parse(ids: pa.Array | pa.ChunkedArray, prefix: str) -> np.ndarray | None:
    """The integer after ``prefix`` in each id, -1 where an id has another shape.

    None when no id has the shape (nothing to gain over a hash probe).
    """
    tail = pc.utf8_slice_codeunits(ids, len(prefix)) if prefix else ids
    shaped = pc.ascii_is_decimal(tail)
    if prefix:
        shaped = pc.and_(shaped, pc.starts_with(ids, prefix))
    shaped = pc.and_(shaped, pc.less_equal(pc.utf8_length(tail), MAX_DIGITS))
    ok = np.asarray(shaped.to_numpy(zero_copy_only=False), dtype=bool)
    if not ok.any():
        return None
    if not ok.all():
        tail = pc.if_else(pa.array(ok) if isinstance(tail, pa.Array) else ok, tail, "0")
    numbers = np.asarray(tail.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.where(ok, numbers, -1)


def _candidates(ids: pa.Array | pa.ChunkedArray, pattern: IdPattern) -> np.ndarray:
    """The only solution row each id could be, from its integer; -1 when none."""
    numbers = _parse(ids, pattern.prefix)
    if numbers is None:
        return np.full(len(ids), -1, dtype=np.int64)
    offset = numbers - pattern.low
    inside = (numbers >= 0) & (offset >= 0) & (offset < pattern.span)
    offset = np.where(inside, offset, 0)
    rows = offset if pattern.lookup is None else pattern.lookup[offset].astype(np.int64)
    return np.where(inside, rows, -1)
