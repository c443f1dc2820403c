"""Stored predictions (``scoring.core.predictions``): the probabilities as scoring holds them.

Scoring keeps a shuffled file's class probabilities in the file's row order with each
row's solution row (``kinds.columns.Probabilities``) and stores them so (version 2): the
solution's order is made only when something asks for it. What is loaded must be what
was scored, files of version 1 (probabilities placed in the solution's order) still load,
and a file whose order does not fit its probabilities is refused with ValueError (what
every reader of stored predictions catches), never an IndexError deep in numpy.
"""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kinds.columns import Probabilities
from scoring.core import (
    Aligned,
    load_predictions,
    save_predictions,
    score_file,
    solution_from_table,
)
from scoring.core.predictions import _compact, load_pred

CLASSES = ["ant", "bee", "cat"]
N = 500


def make_solution():
    rng = np.random.default_rng(1)
    table = pa.table(
        {
            "id": [f"id-{i:04d}" for i in range(N)],
            "label": pa.array(CLASSES).take(pa.array(rng.integers(0, 3, N))),
            "split": np.where(rng.random(N) < 0.4, "public", "private"),
        }
    )
    return solution_from_table(table, kind="classification", classes=CLASSES)


def submission(order: np.ndarray) -> io.BytesIO:
    proba = np.random.default_rng(2).dirichlet(np.ones(3), N)[order]
    columns = {
        "id": [f"id-{i:04d}" for i in order],
        "label": pa.array(CLASSES).take(pa.array(proba.argmax(1))),
    }
    columns.update({f"proba_{c}": proba[:, j] for j, c in enumerate(CLASSES)})
    out = io.BytesIO()
    pq.write_table(pa.table(columns), out)
    out.seek(0)
    return out


def test_shuffled_probabilities_are_stored_as_read_and_load_in_the_solutions_order():
    solution = make_solution()
    order = np.random.default_rng(3).permutation(N)
    shuffled = score_file(submission(order), solution)
    in_order = score_file(submission(np.arange(N)), solution)
    # The same predictions in another row order: the same scores, exactly.
    assert shuffled.metrics == in_order.metrics
    kept = shuffled.aligned.probabilities
    assert kept is not None and kept.order is not None  # as read, not placed
    back = load_predictions(save_predictions(shuffled.aligned))
    assert back.probabilities is not None
    np.testing.assert_array_equal(back.probabilities.order, kept.order)
    np.testing.assert_array_equal(back.proba, in_order.aligned.proba)
    np.testing.assert_array_equal(back.pred, in_order.aligned.pred)
    # Scoring what was loaded gives what was scored.
    again = solution.task_kind.evaluate(back, solution)
    assert again == solution.task_kind.evaluate(in_order.aligned, solution)


def version_1(aligned: Aligned) -> bytes:
    out = io.BytesIO()
    np.savez(out, version=np.array(1), pred=aligned.pred.astype(np.int8), proba=aligned.proba)
    return out.getvalue()


def test_predictions_stored_before_version_2_still_load():
    scored = score_file(submission(np.random.default_rng(4).permutation(N)), make_solution())
    back = load_predictions(version_1(scored.aligned))
    np.testing.assert_array_equal(back.proba, scored.aligned.proba)
    np.testing.assert_array_equal(back.pred, scored.aligned.pred)


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("proba_order", [0, 1, 5]),
        ("proba_order", [-1, 0, 1]),
        ("proba_order", [0, 1]),
        ("proba_by_class", np.full((2, 4), 0.5)),
        ("proba_by_class", np.full(3, 0.5)),
    ],
    ids=["past", "negative", "short", "more rows than pred", "flat"],
)
def test_probabilities_that_do_not_fit_are_refused(name, bad):
    stored = Aligned(
        pred=np.zeros(3, dtype=np.int32),
        probabilities=Probabilities(np.full((2, 3), 0.5), np.arange(3)),
    )
    out = io.BytesIO()
    with np.load(io.BytesIO(save_predictions(stored))) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays[name] = np.array(bad)
    np.savez(out, **arrays)
    with pytest.raises(ValueError):
        load_predictions(out.getvalue())


@pytest.mark.parametrize(
    "pred",
    [
        np.arange(N, dtype=np.int32) % 3,
        (np.arange(N) % 300).astype(np.int16),
        np.linspace(-2.5, 7.25, N),  # a regression's numbers, off their 8-byte boundary
    ],
    ids=["codes", "wide codes", "numbers"],
)
def test_stored_predictions_load_as_numpy_reads_them_however_they_were_zipped(pred):
    """The codes are read where the zip holds them (not copied out of it first): the same
    values and types as numpy's own reading of a stored, a compressed or a Fortran-order
    member, and a corrupted byte is refused."""
    data = save_predictions(Aligned(pred=pred))
    back = load_predictions(data)
    with np.load(io.BytesIO(data)) as npz:
        expected = npz["pred"].astype(np.float64 if pred.dtype.kind == "f" else np.int32)
    assert back.pred.dtype == expected.dtype and back.pred.flags.writeable
    np.testing.assert_array_equal(back.pred, expected)
    # load_pred: the same values in the type they were stored in (a transfer cell's read)
    alone = load_pred(data)
    np.testing.assert_array_equal(alone, expected)
    assert alone.dtype == (np.float64 if pred.dtype.kind == "f" else _compact(pred).dtype)
    for write in (np.savez_compressed, np.savez):
        out = io.BytesIO()
        write(out, version=np.array(2), pred=np.asfortranarray(pred))
        np.testing.assert_array_equal(load_predictions(out.getvalue()).pred, expected)
        np.testing.assert_array_equal(load_pred(out.getvalue()), expected)
    data = save_predictions(Aligned(pred=np.tile(pred, 20)))  # beyond the zip's first read
    at = data.index(b"pred.npy") + 5000  # inside pred's values
    corrupted = data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]
    with pytest.raises(ValueError, match="CRC"):
        load_predictions(corrupted)
    with pytest.raises(ValueError, match="CRC"):
        load_pred(corrupted)
