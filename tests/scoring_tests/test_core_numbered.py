"""``common.numbered``: ids numbered in row order, read from their raw bytes.

The prefix-and-digits check compares whole blocks of bytes at once; these pin that every
byte of every row is still checked: in the last, partial block too, at both ends of the
digit range, and in the prefix."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from common.numbered import (
    _DIGIT_ROWS,
    digits_value,
    fixed_width_bytes,
    numbered_shape,
    numbered_values,
)

ROWS = 2 * _DIGIT_ROWS + 123  # two whole blocks and a partial one


def ids(n: int = ROWS, low: int = 7) -> list[str]:
    return [f"r-{i:07d}" for i in range(low, low + n)]


def test_a_numbered_column_is_found_and_its_values_read() -> None:
    column = pa.array(ids())
    shape = numbered_shape(column)
    assert shape is not None and (shape.prefix, shape.digits, shape.low) == (b"r-", 7, 7)
    values = numbered_values(fixed_width_bytes(column), shape)
    assert np.array_equal(values, np.arange(7, 7 + ROWS))


@pytest.mark.parametrize("row", [0, _DIGIT_ROWS - 1, _DIGIT_ROWS, ROWS - 1])
@pytest.mark.parametrize(
    ("position", "byte"),
    [(0, "R"), (1, "_"), (2, "/"), (5, ":"), (8, " ")],  # prefix, then digits' neighbours
)
def test_one_wrong_byte_anywhere_is_seen(row: int, position: int, byte: str) -> None:
    values = ids()
    text = values[row]
    values[row] = text[:position] + byte + text[position + 1 :]
    rows = fixed_width_bytes(pa.array(values))
    assert digits_value(rows, 7, prefix=b"r-") is None
    assert numbered_shape(pa.array(values)) is None


def test_a_prefix_of_another_length_is_refused_not_misread() -> None:
    rows = fixed_width_bytes(pa.array(ids(100)))
    assert digits_value(rows, 7, prefix=b"r") is None
    assert digits_value(rows, 6, prefix=b"r-") is None
    assert np.array_equal(digits_value(rows, 7), np.arange(7, 107))  # no prefix: digits only


# --- counted ids and the stored shape ----------------------------------------------------------


def test_counted_ids_are_found_and_anything_else_is_not() -> None:
    from common.numbered import Counted, counted_shape, counted_values

    shape = counted_shape(pa.array([f"r{i}" for i in range(7, 1207)]))
    assert isinstance(shape, Counted) and (shape.prefix, shape.low) == (b"r", 7)
    assert counted_shape(pa.array([str(i) for i in range(0, 300)])).prefix == b""
    for ids_ in (
        ["r1", "r2", "r4"],  # a gap
        ["r1", "r02", "r3"],  # a padded one
        ["r1", "r2", "x3"],  # another prefix
        ["r1", "r2", "r0x3"],  # hexadecimal, which Arrow's cast reads
    ):
        assert counted_shape(pa.array(ids_)) is None
    assert counted_values(pa.array(["r9", "r10", "r١"]), b"r") is None


def test_a_stored_shape_is_read_only_when_it_fits_the_ids() -> None:
    from common.numbered import Counted, shape_from_metadata, shape_metadata

    ids_ = pa.array([f"r{i}" for i in range(5, 105)])
    metadata = shape_metadata(Counted(prefix=b"r", low=5))
    known, shape = shape_from_metadata(metadata, ids_)
    assert known and isinstance(shape, Counted) and shape.low == 5
    assert shape_from_metadata(shape_metadata(None), ids_) == (True, None)
    # Another file's record (its ends disagree), a damaged one, none: found from the ids.
    assert shape_from_metadata(shape_metadata(Counted(prefix=b"r", low=6)), ids_) == (False, None)
    assert shape_from_metadata({b"challenge_platform.id_shape": b"{"}, ids_) == (False, None)
    assert shape_from_metadata(None, ids_) == (False, None)
    numbered = shape_metadata(numbered_shape(pa.array(ids(100))))
    assert shape_from_metadata(numbered, pa.array(ids(100)))[0]
