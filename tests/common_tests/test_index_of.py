"""``common.arrowtools.index_of``: each value's position among the choices, as text, -1
for a null or a value not among them, whatever the column's encoding."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from common.arrowtools import index_of

CHOICES = ["bird", "cat", "dog"]
VALUES = ["dog", None, "cat", "fish", "bird", "", None, "dog"]
EXPECTED = [2, -1, 1, -1, 0, -1, -1, 2]


@pytest.mark.parametrize("encoding", ["plain", "dictionary", "chunked dictionary"])
def test_positions_with_nulls_and_unknown_values(encoding):
    column = pa.array(VALUES)
    if encoding == "dictionary":
        column = column.dictionary_encode()
    elif encoding == "chunked dictionary":
        column = pa.chunked_array(
            [pa.array(VALUES[:3]).dictionary_encode(), pa.array(VALUES[3:]).dictionary_encode()]
        )
    found = index_of(column, CHOICES)
    assert found.dtype == np.int32
    assert found.tolist() == EXPECTED


def test_a_dictionary_whose_values_are_all_unknown_or_unused():
    # entries no row uses, and rows that are all null, still map row by row
    dictionary = pa.array(["x", "cat", "y"])
    column = pa.DictionaryArray.from_arrays(pa.array([1, None, 1], pa.int32()), dictionary)
    assert index_of(column, CHOICES).tolist() == [1, -1, 1]
    empty = pa.chunked_array([], pa.dictionary(pa.int32(), pa.string()))
    assert index_of(empty, CHOICES).tolist() == []


def test_integer_values_are_read_as_their_text():
    assert index_of(pa.array([1, None, 7, 0]), ["0", "1", "2"]).tolist() == [1, -1, -1, 0]
