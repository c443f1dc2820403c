"""Probability columns checked and placed where Arrow holds them (``kinds.columns``).

Scoring checks the ``proba_<class>`` columns where Arrow holds them and reads them there, a
block at a time; a matrix, or the solution's order, is made only when asked for
(``Probabilities``). Columns cut into chunks at different rows, integer or null values, and the
refusals' messages must come out as when the values were first copied into one array.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest

from common.refusals import SubmissionInvalid
from kinds.columns import FloatColumns, Probabilities
from scoring.core import align_submission, solution_from_table

CLASSES = ["a", "b", "c"]


def chunked(values: list, cuts: list[int], type_: pa.DataType = pa.float64()) -> pa.ChunkedArray:
    bounds = [0, *cuts, len(values)]
    return pa.chunked_array(
        [pa.array(values[a:b], type_) for a, b in itertools.pairwise(bounds)], type_
    )


def test_columns_cut_at_different_rows_are_placed_as_one_array_would_be():
    rng = np.random.default_rng(1)
    n = 101
    values = rng.random((3, n))
    table = pa.table(
        {
            "x": chunked(values[0].tolist(), [10, 50]),
            "y": chunked(values[1].tolist(), [33]),
            "z": chunked((values[2] * 0 + 1).astype(int).tolist(), [7, 8, 90], pa.int32()),
        }
    )
    columns = FloatColumns.of(table, ["x", "y", "z"])
    expected = np.vstack([values[0], values[1], np.ones(n)])
    np.testing.assert_array_equal(columns.matrix(), expected)
    positions = rng.permutation(n)
    as_read = Probabilities(columns.matrix(), positions)
    placed = as_read.in_truth_order().T
    np.testing.assert_array_equal(placed[:, positions], expected)
    assert as_read.in_truth_order().base is as_read.in_truth_order().base  # made once
    np.testing.assert_array_equal(as_read.placed(expected[0])[positions], expected[0])
    np.testing.assert_array_equal(as_read.truth_rows(placed[0]), expected[0])
    blocks = list(columns.blocks(16))
    assert sum(len(block[0]) for block in blocks) == n
    assert all(len(block) == 3 and max(len(v) for v in block) <= 16 for block in blocks)


def test_a_null_probability_reads_as_nan():
    table = pa.table({"x": chunked([0.5, None, 0.25], [1])})
    assert np.isnan(FloatColumns.of(table, ["x"]).matrix()[0, 1])


def solution(n: int):
    rng = np.random.default_rng(2)
    return solution_from_table(
        pa.table(
            {
                "id": [f"r{i:04d}" for i in range(n)],
                "label": pa.array(CLASSES).take(pa.array(rng.integers(0, 3, n))),
                "split": np.where(rng.random(n) < 0.5, "public", "private"),
            }
        ),
        kind="classification",
        classes=CLASSES,
    )


def submission(n: int, order: np.ndarray, *, cuts: dict[str, list[int]]) -> pa.Table:
    rng = np.random.default_rng(3)
    proba = rng.dirichlet(np.ones(3), n)[order]
    ids = [f"r{i:04d}" for i in order]
    columns = {
        "id": pa.chunked_array([pa.array(ids)]),
        "label": pa.chunked_array([pa.array(CLASSES).take(pa.array(proba.argmax(1)))]),
    }
    for j, c in enumerate(CLASSES):
        columns[f"proba_{c}"] = chunked(proba[:, j].tolist(), cuts.get(c, []))
    return pa.table(columns)


def test_shuffled_rows_in_ragged_chunks_align_as_the_file_in_order():
    n = 257
    sol = solution(n)
    order = np.random.default_rng(4).permutation(n)
    ragged = submission(n, order, cuts={"a": [3, 100], "b": [200], "c": [1, 2, 3, 255]})
    in_order = align_submission(submission(n, np.arange(n), cuts={}), sol)
    shuffled = align_submission(ragged, sol)
    np.testing.assert_array_equal(shuffled.proba, in_order.proba)
    np.testing.assert_array_equal(shuffled.pred, in_order.pred)
    assert shuffled.proba.shape == (n, 3)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "1 row has an empty or NaN probability, e.g. id 'r0042'."),
        (-0.5, "1 row has a probability outside [0, 1], e.g. id 'r0042'."),
        (0.9, "1 row has probabilities that do not sum to 1"),
    ],
)
def test_a_bad_probability_in_a_later_chunk_is_refused_naming_its_row(value, message):
    n = 100
    table = submission(n, np.arange(n), cuts={"a": [10, 40], "b": [41]})
    proba = table["proba_b"].to_pylist()
    proba[42] = value
    table = table.set_column(3, "proba_b", chunked(proba, [41]))
    with pytest.raises(SubmissionInvalid) as caught:
        align_submission(table, solution(n))
    assert caught.value.message.startswith(message)


def test_many_tiny_batches_are_joined_into_one():
    # A file of one-row row groups would otherwise cost a Python step per row and column.
    n = 5000
    table = pa.table({"x": chunked(list(np.linspace(0, 1, n)), list(range(1, n)))})
    columns = FloatColumns.of(table, ["x"])
    assert len(columns.batches) == 1
    np.testing.assert_array_equal(columns.matrix()[0], np.linspace(0, 1, n))


def as_read_columns(values: np.ndarray, cuts: list[int]) -> FloatColumns:
    """(k, n) values as Arrow would hold a file's: record batches cut at ``cuts``."""
    bounds = [0, *cuts, values.shape[1]]
    table = pa.Table.from_batches(
        [
            pa.record_batch({f"c{j}": values[j, a:b] for j in range(values.shape[0])})
            for a, b in itertools.pairwise(bounds)
        ]
    )
    return FloatColumns.of(table, [f"c{j}" for j in range(values.shape[0])])


def test_a_block_of_the_columns_spans_their_batches_as_the_matrix_would():
    rng = np.random.default_rng(5)
    values = rng.random((3, 50))
    columns = as_read_columns(values, [4, 5, 5, 30])  # an empty batch too
    assert columns.backing is None and columns.starts == [0, 4, 5, 5, 30, 50]
    buffer = np.full(3 * 50, np.nan)
    for rows in (slice(0, 50), slice(3, 6), slice(4, 5), slice(29, 31), slice(49, 50)):
        np.testing.assert_array_equal(columns.block(rows, buffer), values[:, rows])
    backed = FloatColumns.of_matrix(values)
    assert backed.block(slice(3, 6), buffer).base is values  # a view, nothing copied


def test_probabilities_as_read_give_the_matrix_s_scores_and_stored_bytes(monkeypatch):
    """The columns where Arrow holds them, or one (k, n) matrix of them: the same OPIS
    counts and log losses to the bit, and the same stored predictions, with blocks that
    cross the batches' edges."""
    from kinds.classification import _row_log_losses
    from scoring.core import load_predictions, save_predictions
    from scoring.core.align import Aligned
    from scoring.core.opis import _class_counts, threshold_grid

    monkeypatch.setattr("scoring.core.opis._BLOCK_ELEMENTS", 3 * 16)
    monkeypatch.setattr("kinds.columns._BLOCK_VALUES", 3 * 16)
    rng = np.random.default_rng(7)
    n = 1000
    values = rng.dirichlet(np.ones(3), n).T.copy()
    y = rng.integers(0, 3, n)
    split = rng.integers(0, 2, n)
    order = rng.permutation(n)
    as_read = as_read_columns(values, [10, 333, 700])
    matrix = FloatColumns.of_matrix(values)
    grid = threshold_grid(0.05, 0.95)
    np.testing.assert_array_equal(
        _class_counts(as_read, y, split, grid), _class_counts(matrix, y, split, grid)
    )
    np.testing.assert_array_equal(_row_log_losses(as_read, y), _row_log_losses(matrix, y))
    stored = [
        save_predictions(Aligned(pred=y, probabilities=Probabilities(columns, order)))
        for columns in (as_read, matrix)
    ]
    back = [load_predictions(data).probabilities for data in stored]
    np.testing.assert_array_equal(back[0].by_class, values)
    np.testing.assert_array_equal(back[0].by_class, back[1].by_class)
    np.testing.assert_array_equal(back[0].order, order)
    placed = Probabilities(as_read, order).in_truth_order()
    np.testing.assert_array_equal(placed[order], values.T)
