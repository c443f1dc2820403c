"""Every metric of the scoring core equals scikit-learn's, on random inputs and every split."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from common.splits import split_masks as masks_of
from kinds import kind_get
from kinds.confusion import confusion_matrix
from kinds.matching import precision_recall_curve_points
from scoring.core import Aligned, Solution, compute_metrics, metric_names, primary_metric


def split_masks(solution: Solution) -> dict[str, np.ndarray | None]:
    return masks_of(solution.is_public)

SPLIT_NAMES = ("all", "public", "private")


def _solution(y: np.ndarray, is_public: np.ndarray, kind: str, k: int) -> Solution:
    return Solution(
        ids=pa.array([f"r{i}" for i in range(y.size)], pa.string()),
        y=y.astype(np.int32),
        is_public=is_public,
        classes=[str(c) for c in range(k)],
        kind=kind,
    )


@st.composite
def classification_cases(draw):
    k = draw(st.integers(2, 6))
    n = draw(st.integers(1, 80))
    # Few distinct values make classes absent from truth and/or predictions common.
    used = draw(st.integers(1, k))
    y = np.array(draw(st.lists(st.integers(0, used - 1), min_size=n, max_size=n)))
    pred = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    is_public = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    proba = None
    if draw(st.booleans()):
        weights = np.array(
            draw(
                st.lists(
                    st.sampled_from([0.0, 0.0, 1e-300, 0.1, 0.5, 1.0, 3.0, 1e6]),
                    min_size=n * k,
                    max_size=n * k,
                )
            )
        ).reshape(n, k)
        weights[weights.sum(axis=1) == 0, 0] = 1.0
        proba = weights / weights.sum(axis=1, keepdims=True)
    return _solution(y, is_public, "classification", k), Aligned(pred=pred, proba=proba)


@st.composite
def matching_cases(draw):
    n = draw(st.integers(1, 80))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    pred = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    is_public = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    score = None
    if draw(st.booleans()):
        # A small pool of values gives many ties; floats give the general case.
        values = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]) | st.floats(0, 1)
        score = np.array(draw(st.lists(values, min_size=n, max_size=n)), dtype=np.float64)
    return _solution(y, is_public, "matching", 2), Aligned(pred=pred, score=score)


def _rows(solution: Solution, split: str) -> np.ndarray:
    mask = split_masks(solution)[split]
    return np.arange(solution.y.size) if mask is None else np.flatnonzero(mask)


def _sklearn_classification(solution: Solution, aligned: Aligned, rows: np.ndarray) -> dict:
    y, pred, labels = solution.y[rows], aligned.pred[rows], list(range(solution.n_classes))
    out = {
        "accuracy": skm.accuracy_score(y, pred),
        "macro_f1": skm.f1_score(y, pred, average="macro", labels=labels, zero_division=0),
    }
    if aligned.proba is not None:
        out["log_loss"] = skm.log_loss(y, aligned.proba[rows], labels=labels)
    return out


def _sklearn_matching(solution: Solution, aligned: Aligned, rows: np.ndarray) -> dict:
    y, pred = solution.y[rows], aligned.pred[rows]
    out = {
        "f1": skm.f1_score(y, pred, zero_division=0),
        "precision": skm.precision_score(y, pred, zero_division=0),
        "recall": skm.recall_score(y, pred, zero_division=0),
    }
    if aligned.score is not None:
        out["average_precision"] = skm.average_precision_score(y, aligned.score[rows])
    return out


def _check_against_sklearn(solution: Solution, aligned: Aligned, reference) -> None:
    ours = compute_metrics(aligned, solution)
    assert set(ours) == set(SPLIT_NAMES)
    has_extra = aligned.proba is not None or aligned.score is not None
    for split in SPLIT_NAMES:
        rows = _rows(solution, split)
        if rows.size == 0:
            assert ours[split] == {}
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = reference(solution, aligned, rows)
        assert list(ours[split]) == metric_names(solution.kind, has_extra)
        # OPIS has no scikit-learn counterpart: tests/scoring_tests/test_core_opis.py checks it.
        label_metrics = {name: v for name, v in ours[split].items() if name != "opis"}
        assert label_metrics == pytest.approx(expected, rel=1e-12, abs=1e-12), split


@settings(max_examples=200, deadline=None)
@given(classification_cases())
def test_classification_metrics_equal_sklearn(case):
    solution, aligned = case
    _check_against_sklearn(solution, aligned, _sklearn_classification)


@settings(max_examples=200, deadline=None)
@given(matching_cases())
def test_matching_metrics_equal_sklearn(case):
    solution, aligned = case
    _check_against_sklearn(solution, aligned, _sklearn_matching)


@settings(max_examples=100, deadline=None)
@given(classification_cases())
def test_confusion_matrix_equals_sklearn(case):
    solution, aligned = case
    for split, mask in split_masks(solution).items():
        rows = _rows(solution, split)
        if rows.size == 0:
            assert confusion_matrix(aligned, solution, mask).sum() == 0
            continue
        expected = skm.confusion_matrix(
            solution.y[rows], aligned.pred[rows], labels=list(range(solution.n_classes))
        )
        np.testing.assert_array_equal(confusion_matrix(aligned, solution, mask), expected)


@settings(max_examples=150, deadline=None)
@given(matching_cases())
def test_precision_recall_curve_equals_sklearn(case):
    solution, aligned = case
    if aligned.score is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        precision, recall, thresholds = skm.precision_recall_curve(solution.y, aligned.score)
    curve = precision_recall_curve_points(aligned, solution)
    np.testing.assert_array_equal(curve.precision, precision)
    np.testing.assert_array_equal(curve.recall, recall)
    np.testing.assert_array_equal(curve.thresholds, thresholds)


def test_precision_recall_curve_is_downsampled_keeping_both_ends():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 5000)
    score = rng.random(5000)
    solution = _solution(y, np.ones(5000, dtype=bool), "matching", 2)
    curve = precision_recall_curve_points(Aligned(pred=y, score=score), solution, max_points=200)
    precision, recall, thresholds = skm.precision_recall_curve(y, score)
    assert len(curve.precision) <= 200
    assert len(curve.thresholds) == len(curve.precision) - 1
    assert (curve.precision[0], curve.recall[0]) == (precision[0], recall[0])
    assert (curve.precision[-1], curve.recall[-1]) == (1.0, 0.0)
    assert curve.thresholds[0] == thresholds[0] and curve.thresholds[-1] == thresholds[-1]
    assert np.all(np.diff(curve.recall) <= 0)


def test_one_class_splits_and_perfect_predictions():
    y = np.array([1, 1, 1, 0, 0, 0])
    is_public = np.array([True, True, True, False, False, False])
    solution = _solution(y, is_public, "matching", 2)
    aligned = Aligned(pred=y.copy(), score=y.astype(float))
    got = compute_metrics(aligned, solution)
    assert got["all"] == {"f1": 1.0, "precision": 1.0, "recall": 1.0, "average_precision": 1.0}
    # The private split has no positive row: scikit-learn gives 0 for everything.
    assert got["private"] == {"f1": 0.0, "precision": 0.0, "recall": 0.0, "average_precision": 0.0}


def test_metric_names_and_primary_metric():
    assert metric_names("classification", False) == ["accuracy", "macro_f1"]
    assert metric_names("classification", True) == ["accuracy", "macro_f1", "log_loss", "opis"]
    assert metric_names("matching", True) == ["f1", "precision", "recall", "average_precision"]
    assert metric_names("matching", True, has_groups=True)[-1] == "opis"
    assert metric_names("grouping", False) == [
        "pairwise_f1",
        "pairwise_precision",
        "pairwise_recall",
        "bcubed_f1",
    ]
    primaries = {k: kind_get(k).primary for k in ("classification", "matching", "grouping")}
    assert primaries == {"classification": "accuracy", "matching": "f1", "grouping": "pairwise_f1"}
    assert primary_metric("classification") == "accuracy"
    assert primary_metric("classification", "macro_f1") == "macro_f1"


@pytest.mark.parametrize("layout", ["class-major", "row-major", "strided", "as read"])
def test_row_log_losses_are_the_same_whatever_the_probabilities_layout(layout, monkeypatch):
    # The true class's probability is taken from the matrix's memory when contiguous, and
    # from the columns as Arrow decoded them a block at a time (cut into record batches at
    # rows that do not fall on a block's edge): every layout gives the bits of the
    # two-array fancy index, clipped ends included.
    import pyarrow as pa

    from kinds.classification import _row_log_losses
    from kinds.columns import FloatColumns

    rng = np.random.default_rng(11)
    n, k = 2001, 4
    proba = rng.dirichlet(np.ones(k), n)
    proba[:5, 0], proba[5:10, 1] = 0.0, 1.0
    y = rng.integers(0, k, n).astype(np.int32)
    y[:10] = np.r_[[0] * 5, [1] * 5]
    eps = np.finfo(np.float64).eps
    expected = -np.log(np.clip(proba[np.arange(n), y], eps, 1 - eps))
    if layout == "as read":
        cuts = [0, 7, 700, 1500, n]
        table = pa.Table.from_batches(
            [
                pa.record_batch({f"p{j}": proba[a:b, j] for j in range(k)})
                for a, b in itertools.pairwise(cuts)
            ]
        )
        columns = FloatColumns.of(table, [f"p{j}" for j in range(k)])
        assert len(columns.batches) == 4 and columns.backing is None
        monkeypatch.setattr("kinds.columns._BLOCK_VALUES", 4 * 9)  # blocks of 9 rows
    else:
        laid_out = {
            "class-major": np.ascontiguousarray(proba.T).T,
            "row-major": np.ascontiguousarray(proba),
            "strided": np.repeat(proba, 2, axis=1)[:, ::2],
        }[layout]
        columns = FloatColumns.of_matrix(laid_out.T)
    assert np.array_equal(_row_log_losses(columns, y), expected)
    assert np.isfinite(expected[:10]).all()


@pytest.mark.parametrize(("k", "packed"), [(5, np.uint8), (128, np.uint8), (300, np.uint16)])
def test_a_shuffled_file_gathers_the_truth_packed_and_scores_as_in_order(k, packed):
    # A shuffled file's rows gather the truth's class code and split packed in one narrow
    # integer (2 y + is_public: a byte for up to 128 classes): the same codes, so the same
    # scores to the bit as the file in the solution's order, and scikit-learn's log loss.
    import io

    import pyarrow.parquet as pq

    from scoring.core import score_file, solution_from_table

    rng = np.random.default_rng(23)
    n = 4000
    classes = [f"c{j:03d}" for j in range(k)]
    y = rng.integers(0, k, n)
    y[:2] = (0, k - 1)  # both ends of the codes' range
    ids = [f"id-{i:05d}" for i in range(n)]
    is_public = rng.random(n) < 0.4
    solution = solution_from_table(
        pa.table(
            {
                "id": ids,
                "label": pa.array(classes).take(pa.array(y)),
                "split": np.where(is_public, "public", "private"),
            }
        ),
        kind="classification",
        classes=classes,
    )
    assert solution.y_and_split.dtype == packed and solution.y.dtype.itemsize > 2
    assert np.array_equal(solution.y_and_split, 2 * y + is_public)
    assert solution.y_and_split is solution.y_and_split  # made once

    proba = rng.dirichlet(np.ones(k), n)
    columns = {"id": ids, "label": pa.array(classes).take(pa.array(proba.argmax(1)))}
    columns.update({f"proba_{c}": proba[:, j] for j, c in enumerate(classes)})
    table = pa.table(columns)

    def scored(order: np.ndarray):
        out = io.BytesIO()
        pq.write_table(table.take(pa.array(order)), out)
        out.seek(0)
        return score_file(out, solution)

    order = rng.permutation(n)
    in_order, shuffled = scored(np.arange(n)), scored(order)
    assert shuffled.metrics == in_order.metrics
    rows = shuffled.aligned.probabilities
    assert rows.order is not None  # the gather was taken
    assert np.array_equal(rows.truth_rows(solution.y), y[order])
    assert np.array_equal(rows.truth_rows(solution.is_public), is_public[order])
    assert rows.truth_rows(solution.is_public).dtype == bool
    expected = skm.log_loss(y, proba, labels=list(range(k)))
    assert shuffled.metrics["all"]["log_loss"] == pytest.approx(expected, rel=1e-12)


def test_truth_that_is_not_a_code_is_gathered_as_it_is():
    # Grouping's entity codes or a negative code are not packed: gathered one by one.
    from scoring.core.align import _truth_in_file_order

    solution = _solution(np.array([3, -1, 2]), np.array([True, False, True]), "classification", 4)
    assert solution.y_and_split is None
    (y, y_rows), (split, split_rows) = _truth_in_file_order(solution, np.array([2, 0, 1]))
    assert y is solution.y and split is solution.is_public
    assert y_rows.tolist() == [2, 3, -1] and split_rows.tolist() == [True, True, False]
