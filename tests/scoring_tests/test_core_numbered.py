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
