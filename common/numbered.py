"""Ids numbered in row order: ``prefix`` + an integer that counts up by row.

Test ids are usually a fixed prefix and an integer (``r000123``, ``id-000000042``, ``r7``,
``17``). When a column's row ``r`` holds exactly ``prefix`` + ``low + r`` in a fixed number
of digits, it is :class:`Numbered`; written without padding (``r0`` ... ``r2999999``, the
most common shape), :class:`Counted`. Either way its ids are distinct by construction, and
an id of the same shape names its row by its integer. Counted ids in any order, with gaps
(a catalog numbered once and split at random into train and test: ``p7``, ``p3``, ``p12``),
are :class:`Spread` when their integers are distinct and dense enough: an id names its row
through a table of the integers' rows. The checks are a few numpy and Arrow passes over
the raw UTF-8 bytes, with no sort and no hash table (the bundle import proves ids distinct
with them and stores the shape with the solution, ``IdShape``; scoring places shuffled
submission ids with them).
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TRAILING_DIGIT_BYTES = re.compile(rb"[0-9]+\Z")
MAX_DIGITS = 18  # always fits int64
_DIGIT_ROWS = 1 << 15


@dataclass(frozen=True, eq=False)
class Numbered:
    """Row ``r`` holds exactly ``prefix`` + ``low + r`` in ``digits`` digits (zero-padded),
    every id ``width`` bytes long."""

    prefix: bytes
    digits: int
    low: int

    @property
    def width(self) -> int:
        return len(self.prefix) + self.digits


def numbered_shape(ids: pa.Array) -> Numbered | None:
    """The Numbered shape of ``ids`` (text, no nulls), or None."""
    rows = fixed_width_bytes(ids)
    if rows is None:
        return None
    first = bytes(rows[0])
    digits = TRAILING_DIGIT_BYTES.search(first)
    n_digits = 0 if digits is None else len(first) - digits.start()
    if not 0 < n_digits <= MAX_DIGITS:
        return None
    shape = Numbered(prefix=first[:-n_digits], digits=n_digits, low=0)
    values = numbered_values(rows, shape)
    if values is None:
        return None
    low = int(values[0])
    if not np.array_equal(values, np.arange(low, low + len(values), dtype=values.dtype)):
        return None
    return Numbered(prefix=shape.prefix, digits=n_digits, low=low)


def numbered_values(rows: np.ndarray, shape: Numbered) -> np.ndarray | None:
    """Each row's integer when every row (``fixed_width_bytes``) is ``shape.prefix`` +
    ``shape.digits`` ASCII digits; else None."""
    if rows.shape[1] != shape.width:
        return None
    return digits_value(rows, shape.digits, prefix=shape.prefix)


def fixed_width_bytes(array: pa.Array) -> np.ndarray | None:
    """The UTF-8 bytes of a string array as an (n, width) uint8 view, if all are as long
    (None for nulls, other types, an empty array or ids of several lengths)."""
    if array.type != pa.string() or len(array) == 0 or array.null_count:
        return None
    _, offsets_buffer, data = array.buffers()
    offsets = np.frombuffer(
        offsets_buffer, dtype=np.int32, count=len(array) + 1, offset=array.offset * 4
    )
    start, stop = int(offsets[0]), int(offsets[-1])
    width = (stop - start) // len(array)
    if width == 0 or stop - start != width * len(array):
        return None
    if not (np.diff(offsets) == width).all():
        return None
    raw = np.frombuffer(data, dtype=np.uint8, count=stop - start, offset=start)
    return raw.reshape(len(array), width)


def digits_value(
    rows: np.ndarray, n_digits: int, *, prefix: bytes | None = None
) -> np.ndarray | None:
    """The last ``n_digits`` bytes of each row read as a decimal number (garbage if not).

    With ``prefix``: None unless every row is ``prefix`` followed by ``n_digits`` ASCII
    digits."""
    value = np.zeros(rows.shape[0], dtype=np.int32 if n_digits <= 9 else np.int64)
    start = rows.shape[1] - n_digits
    if prefix is not None:  # each byte between these two rows' bytes: the prefix, then digits
        if len(prefix) + n_digits != rows.shape[1]:
            return None
        # Tiled to a whole block and compared flat: a (rows, width) comparison broadcasts
        # over rows of a dozen bytes, which numpy runs a dozen bytes per inner loop (6x
        # slower than one long loop).
        low, high = _block_bounds(prefix, n_digits)
    for r0 in range(0, rows.shape[0], _DIGIT_ROWS):  # a cache-sized block at a time
        block, out = rows[r0 : r0 + _DIGIT_ROWS], value[r0 : r0 + _DIGIT_ROWS]
        if prefix is not None:
            flat = block.reshape(-1)
            if not ((flat >= low[: flat.size]).all() and (flat <= high[: flat.size]).all()):
                return None
        for column in range(start, rows.shape[1]):
            out *= 10
            out += block[:, column]
            out -= 48
    return value


@functools.lru_cache(maxsize=16)
def _block_bounds(prefix: bytes, n_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest byte of each position of a numbered id, repeated for a whole
    block of rows (read-only: shared by every call)."""
    low = np.tile(np.frombuffer(prefix + b"0" * n_digits, dtype=np.uint8), _DIGIT_ROWS)
    high = np.tile(np.frombuffer(prefix + b"9" * n_digits, dtype=np.uint8), _DIGIT_ROWS)
    low.flags.writeable = high.flags.writeable = False
    return low, high


# --- counted ids: the same, without padding (``r0``, ``r7``, ``r12``) ---------------------------

# An id of ``d`` digits is canonical when its value lies in [_LOWEST[d], _HIGHEST[d]): no
# leading zero (a lone "0" is the one canonical id of value 0 with one digit).
_LOWEST = np.array([0, 0, *(10 ** (d - 1) for d in range(2, MAX_DIGITS + 1))], dtype=np.int64)
_RUNS = 64  # at most this many runs of one digit count: read in place (``_counted_runs``)
_HIGHEST = np.array([0, *(10**d for d in range(1, MAX_DIGITS + 1))], dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Counted:
    """Row ``r`` holds exactly ``prefix`` + ``low + r`` as a canonical decimal: no padding, no
    sign, no leading zero (``r0``, ``r9``, ``r10``...), at most ``MAX_DIGITS`` digits. Such
    ids are distinct by construction, and an id of the same form names its row by its
    integer."""

    prefix: bytes
    low: int


def counted_values(array: pa.Array, prefix: bytes) -> np.ndarray | None:
    """Each id's integer (int64) when every id of ``array`` (text, no nulls) is ``prefix`` +
    a canonical decimal of at most ``MAX_DIGITS`` digits; else None.

    Ids in a few runs of one length each (in row order, the usual case) are read in place,
    run by run (:func:`_counted_runs`). Otherwise, a few passes: the prefix's bytes at each
    id's start, Arrow's decimal check and integer cast of the rest, and each value's digit
    count against the id's length (which refuses a leading zero, and a sign or a space,
    which the cast would not read anyway)."""
    if array.type != pa.string() or len(array) == 0 or array.null_count:
        return None
    _, offsets_buffer, data = array.buffers()
    offsets = np.frombuffer(
        offsets_buffer, dtype=np.int32, count=len(array) + 1, offset=array.offset * 4
    )
    digits = np.diff(offsets) - len(prefix)
    if int(digits.min()) < 1 or int(digits.max()) > MAX_DIGITS:
        return None
    changes = np.flatnonzero(np.diff(digits)) + 1
    if len(changes) < _RUNS:
        return _counted_runs(data, offsets, digits, changes, prefix)
    if prefix:
        raw = np.frombuffer(data, dtype=np.uint8)
        starts = offsets[:-1]
        if any(not (raw[starts + k] == byte).all() for k, byte in enumerate(prefix)):
            return None
    # The prefix's bytes are checked: slice its characters off (UTF-8 may take several).
    tail = pc.utf8_slice_codeunits(array, len(prefix.decode("utf-8"))) if prefix else array
    if not pc.all(pc.ascii_is_decimal(tail)).as_py():  # the cast also reads "0x1F"
        return None
    values = np.asarray(tail.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    if not ((values >= _LOWEST[digits]).all() and (values < _HIGHEST[digits]).all()):
        return None
    return values


def _counted_runs(
    data: pa.Buffer, offsets: np.ndarray, digits: np.ndarray, changes: np.ndarray, prefix: bytes
) -> np.ndarray | None:
    """:func:`counted_values` of ids in a few runs of one digit count each (the usual
    shape: ids in row order change their length a few times): each run is a block of
    fixed-width rows of the data buffer, read in place by :func:`digits_value` (no copy
    of the text, no cast), then checked canonical by its digit count."""
    raw = np.frombuffer(data, dtype=np.uint8)
    values = np.empty(len(digits), dtype=np.int64)
    bounds = [0, *changes.tolist(), len(digits)]
    for first, stop in itertools.pairwise(bounds):
        n_digits = int(digits[first])
        start, end = int(offsets[first]), int(offsets[stop])
        rows = raw[start:end].reshape(stop - first, len(prefix) + n_digits)
        run = digits_value(rows, n_digits, prefix=prefix)
        if run is None or int(run.min()) < _LOWEST[n_digits]:
            return None  # a byte other than the prefix's or a digit, or a leading zero
        values[first:stop] = run
    return values


def counted_shape(ids: pa.Array) -> Counted | None:
    """The Counted shape of ``ids`` (text, no nulls), or None. Read from the first id: its
    prefix is everything before its trailing digits, less the digits' leading zeros but
    for the last (``r00`` is not a counted id; ``r0`` is)."""
    prefix = counted_prefix(ids)
    values = None if prefix is None else counted_values(ids, prefix)
    return None if prefix is None or values is None else counted_from_values(prefix, values)


def counted_prefix(ids: pa.Array) -> bytes | None:
    """The text before the first id's trailing digits (None: no digits there, or not a
    column of text without nulls)."""
    if ids.type != pa.string() or len(ids) == 0 or ids.null_count:
        return None
    first = ids[0].as_py().encode("utf-8")
    digits = TRAILING_DIGIT_BYTES.search(first)
    return None if digits is None else first[: digits.start()]


def counted_from_values(prefix: bytes, values: np.ndarray) -> Counted | None:
    """The Counted shape of ids whose integers (:func:`counted_values`) are ``values``:
    ``low + r`` at row ``r``, or None. Compared a block at a time (no second array of the
    whole column)."""
    if len(values) == 0:
        return None
    low = int(values[0])
    for start in range(0, len(values), _DIGIT_ROWS * 8):
        block = values[start : start + _DIGIT_ROWS * 8]
        expected = np.arange(low + start, low + start + len(block), dtype=np.int64)
        if not np.array_equal(block, expected):
            return None
    return Counted(prefix=prefix, low=low)


# --- spread ids: counted ids in any order, with gaps (``p7``, ``p3``, ``p12``) -------------------

# A spread column's integers lie within this many per id (and a little slack for a short
# column): the table of their rows (``spread_rows``) stays within a few bytes per id.
SPREAD_PER_ROW = 2
_SPREAD_SLACK = 1024


@dataclass(frozen=True, eq=False)
class Spread:
    """Every id is ``prefix`` + a canonical decimal (as :class:`Counted` ids are), in any
    order, the integers distinct and all in ``[low, low + span)``, with ``span`` at most
    ``SPREAD_PER_ROW`` per id (a catalog numbered once and split at random into train and
    test). Such ids are distinct by construction, and an id of the same form names its row
    through the table of the column's integers (:func:`spread_rows`): no key, no hash
    (docs/decisions/0060-an-import-holds-each-id-once.md)."""

    prefix: bytes
    low: int
    span: int


def spread_from_values(prefix: bytes, values: np.ndarray) -> Spread | None:
    """The Spread shape of ids whose integers (:func:`counted_values`) are ``values``, or
    None: integers spanning more than ``SPREAD_PER_ROW`` per id, or one integer twice
    (marked in a byte per integer of the span: no sort, no hash)."""
    n = len(values)
    if n == 0:
        return None
    low, high = int(values.min()), int(values.max())
    span = high - low + 1
    if span > SPREAD_PER_ROW * n + _SPREAD_SLACK:
        return None
    marks = np.zeros(span, dtype=np.uint8)
    for start in range(0, n, _DIGIT_ROWS * 8):  # a block at a time: no offsets of n values
        marks[values[start : start + _DIGIT_ROWS * 8] - low] = 1
    if int(np.count_nonzero(marks)) != n:
        return None
    return Spread(prefix=prefix, low=low, span=span)


def spread_rows(values: np.ndarray, shape: Spread) -> np.ndarray | None:
    """The row of each integer ``shape.low + k`` among ``values`` (a spread column's
    integers, in row order) at index ``k``, -1 where no row has it; None when ``values``
    do not fit ``shape`` (an integer outside its range, or one integer twice)."""
    n = len(values)
    if n == 0 or n > shape.span:
        return None
    offsets = values - shape.low
    if not (offsets.view(np.uint64) < shape.span).all():  # negatives wrap to huge
        return None
    rows = np.full(shape.span, -1, dtype=np.int32 if n < 2**31 else np.int64)
    rows[offsets] = np.arange(n, dtype=rows.dtype)
    if int(np.count_nonzero(rows >= 0)) != n:
        return None
    return rows


def prefixed_shape(ids: pa.Array) -> Counted | Spread | None:
    """The Counted or Spread shape of ``ids`` (text, no nulls), or None: their integers
    read once for both."""
    prefix = counted_prefix(ids)
    values = None if prefix is None else counted_values(ids, prefix)
    if prefix is None or values is None:
        return None
    return counted_from_values(prefix, values) or spread_from_values(prefix, values)


# --- the shape an import proved, stored with the solution -------------------------------------

# The key of the solution file's Parquet metadata that holds its ids' shape, as JSON:
# {"shape": "numbered", "prefix", "digits", "low"}, {"shape": "counted", "prefix", "low"},
# {"shape": "spread", "prefix", "low", "span"} or {"shape": "none"} (none of them: ids of
# any other form).
SHAPE_METADATA_KEY = b"challenge_platform.id_shape"
IdShape = Numbered | Counted | Spread | None


def shape_metadata(shape: IdShape) -> dict[bytes, bytes]:
    """The Parquet schema metadata recording ``shape`` (a solution's ids, as proven)."""
    if isinstance(shape, Numbered):
        value = {
            "shape": "numbered",
            "prefix": shape.prefix.decode("utf-8"),
            "digits": shape.digits,
            "low": shape.low,
        }
    elif isinstance(shape, Counted):
        value = {"shape": "counted", "prefix": shape.prefix.decode("utf-8"), "low": shape.low}
    elif isinstance(shape, Spread):
        prefix = shape.prefix.decode("utf-8")
        value = {"shape": "spread", "prefix": prefix, "low": shape.low, "span": shape.span}
    else:
        value = {"shape": "none"}
    return {SHAPE_METADATA_KEY: json.dumps(value).encode("utf-8")}


def shape_from_metadata(metadata: dict[bytes, bytes] | None, ids: pa.Array) -> tuple[bool, IdShape]:
    """``(known, shape)`` from a solution file's metadata (``known`` False: not recorded,
    or not this file's: find it from the ids). The record is the platform's own, written
    with the ids it describes; its first and last ids and the width are checked anyway, so
    a file changed by hand is never read by a shape it lacks."""
    raw = (metadata or {}).get(SHAPE_METADATA_KEY)
    if raw is None:
        return False, None
    try:
        value = json.loads(raw)
        kind = value["shape"]
        if kind == "none":
            return True, None
        prefix, low = value["prefix"].encode("utf-8"), int(value["low"])
        if kind == "numbered":
            digits = int(value["digits"])
            shape: Numbered | Counted | Spread = Numbered(prefix=prefix, digits=digits, low=low)
        elif kind == "counted":
            shape = Counted(prefix=prefix, low=low)
        elif kind == "spread":
            shape = Spread(prefix=prefix, low=low, span=int(value["span"]))
        else:
            return False, None
    except (ValueError, KeyError, TypeError, AttributeError):
        return False, None
    return (True, shape) if _ends_agree(shape, ids) else (False, None)


def _ends_agree(shape: Numbered | Counted | Spread, ids: pa.Array) -> bool:
    n = len(ids)
    if n == 0 or ids.null_count or ids.type != pa.string():
        return False
    if isinstance(shape, Spread):  # in any order: the ends are of the shape, within its range
        ends = counted_values(ids.take(pa.array([0, n - 1])), shape.prefix)
        return (
            n <= shape.span
            and ends is not None
            and bool(((ends >= shape.low) & (ends < shape.low + shape.span)).all())
        )

    def written(value: int) -> str:
        digits = f"{value:0{shape.digits}d}" if isinstance(shape, Numbered) else str(value)
        return shape.prefix.decode("utf-8") + digits

    if ids[0].as_py() != written(shape.low) or ids[n - 1].as_py() != written(shape.low + n - 1):
        return False
    return not isinstance(shape, Numbered) or fixed_width_bytes(ids) is not None
