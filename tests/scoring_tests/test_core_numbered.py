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


@pytest.mark.parametrize(
    "bend",
    [
        lambda ids: ids,
        lambda ids: [*ids[:-1], "r0" + ids[-1][1:]],  # a leading zero in the last run
        lambda ids: [*ids[:500], "r5x1", *ids[501:]],  # a letter among the digits
        lambda ids: [*ids[:700], "s" + ids[700][1:], *ids[701:]],  # another prefix
        lambda ids: [*ids[:9], "r٣", *ids[10:]],  # a digit that is not ASCII
        lambda ids: ids[:3] + ids[4:5] + ids[3:4] + ids[5:],  # two rows swapped
    ],
)
def test_counted_ids_read_in_place_by_runs_as_the_general_path_reads_them(
    bend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ids in row order change their length a few times: each run of one length is read in
    place; the general path (Arrow's decimal check and cast) must agree on every case."""
    import common.numbered as numbered

    column = pa.array(bend([f"r{i}" for i in range(95, 95 + 3 * _DIGIT_ROWS)]))
    for array in (column, column.slice(7)):
        by_runs = numbered.counted_values(array, b"r")
        monkeypatch.setattr(numbered, "_RUNS", 0)  # every array takes the general path
        general = numbered.counted_values(array, b"r")
        monkeypatch.undo()
        assert (by_runs is None) == (general is None)
        if general is not None:
            assert by_runs.dtype == np.int64 and np.array_equal(by_runs, general)


# --- spread ids: counted ids in any order, with gaps -------------------------------------------


def test_spread_ids_are_found_and_their_rows_read() -> None:
    from common.numbered import Spread, prefixed_shape, spread_rows

    numbers = np.random.default_rng(5).choice(2000, size=1000, replace=False)  # gaps, any order
    column = pa.array([f"p{i}" for i in numbers])
    shape = prefixed_shape(column)
    assert isinstance(shape, Spread) and shape.prefix == b"p"
    assert (shape.low, shape.span) == (int(numbers.min()), int(numbers.max() - numbers.min()) + 1)
    rows = spread_rows(numbers.astype(np.int64), shape)
    assert rows is not None and np.array_equal(rows[numbers - shape.low], np.arange(1000))
    assert int((rows >= 0).sum()) == 1000
    # counted ids in row order stay Counted; anything else is neither
    assert type(prefixed_shape(pa.array([f"p{i}" for i in range(5, 900)]))).__name__ == "Counted"
    for ids_ in (
        ["p5", "p3", "p5"],  # one integer twice
        ["p5", "p3", "p05"],  # a padded one
        ["p5", "p3", "q4"],  # another prefix
        [f"p{10_000 * i}" for i in range(300)],  # too far apart to place by a table
    ):
        assert prefixed_shape(pa.array(ids_)) is None, ids_
    assert spread_rows(np.array([5, 3, 5]), Spread(prefix=b"p", low=3, span=3)) is None
    assert spread_rows(np.array([5, 3, 9]), Spread(prefix=b"p", low=3, span=3)) is None


def test_a_stored_spread_shape_is_read_only_when_it_fits_the_ids() -> None:
    from common.numbered import Spread, shape_from_metadata, shape_metadata

    ids_ = pa.array(["p7", "p3", "p12", "p9"])
    known, shape = shape_from_metadata(shape_metadata(Spread(prefix=b"p", low=3, span=10)), ids_)
    assert known and isinstance(shape, Spread)
    assert (shape.prefix, shape.low, shape.span) == (b"p", 3, 10)
    for other in (
        Spread(prefix=b"p", low=8, span=10),  # the first id below it
        Spread(prefix=b"p", low=3, span=3),  # the last id past it, and fewer than the ids
        Spread(prefix=b"q", low=3, span=10),  # another prefix
    ):
        assert shape_from_metadata(shape_metadata(other), ids_) == (False, None)
