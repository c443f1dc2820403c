"""Validate and convert a submission's label, ``proba_<class>`` and ``score`` columns.

Everything here is in submission row order; ``align`` puts it in solution order.
Classification labels are class names; integers are compared as text (3 == "3").
Matching labels may be integers 0/1, booleans, or the text "0", "1", "true", "false"
(any case of true/false). Grouping clusters are any non-empty text or integers.
Probabilities and scores must be numbers in [0, 1]; each row of probabilities must sum
to 1 within ``SUM_TOLERANCE``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scoring.core.arrowtools import as_string, codes_of, index_of, is_text, null_mask
from scoring.core.errors import SubmissionInvalid, count, examples, has

SUM_TOLERANCE = 1e-3
PROBA_PREFIX = "proba_"
_MATCH_TEXT = ["0", "1", "false", "true", "False", "True", "FALSE", "TRUE"]

ExampleIds = Callable[[np.ndarray], str]
"""Given a bool mask over submission rows, "ids 'a', 'b'" for a message."""


def class_codes(labels: pa.ChunkedArray, classes: list[str], example_ids: ExampleIds) -> np.ndarray:
    """Class index (int32) of every label; refuses empty and unknown labels."""
    if not (is_text(labels.type) or pa.types.is_integer(labels.type)):
        raise SubmissionInvalid(
            f"Column 'label' has type {labels.type}; expected class names (text) or integers."
        )
    codes = index_of(labels, classes)
    bad = codes < 0
    if bad.any():
        text = as_string(labels)
        empty = _empty(text)
        _refuse_empty(empty, example_ids)
        offending = pc.unique(text.filter(pa.array(bad))).to_pylist()
        raise SubmissionInvalid(
            f"{has(int(bad.sum()), 'row')} a label that is not a class: "
            f"{_some(offending)}, e.g. {example_ids(bad)}. "
            f"The classes are: {examples(classes, limit=30)}."
        )
    return codes


def match_codes(labels: pa.ChunkedArray, example_ids: ExampleIds) -> np.ndarray:
    """0/1 (int32) of every matching label; refuses anything else."""
    type_ = labels.type
    if pa.types.is_integer(type_) or pa.types.is_boolean(type_):
        empty = null_mask(labels)
        values = labels.cast(pa.int64()).fill_null(-1).to_numpy()
        codes = np.where((values == 0) | (values == 1), values, -1).astype(np.int32)
    elif is_text(type_):
        empty = _empty(as_string(labels))
        codes = index_of(labels, _MATCH_TEXT)
        codes = np.where(codes >= 0, codes % 2, -1).astype(np.int32)
    else:
        raise SubmissionInvalid(
            f"Column 'label' has type {type_}; expected 0 or 1 (integers, booleans or text)."
        )
    bad = codes < 0
    if bad.any():
        _refuse_empty(empty, example_ids)
        offending = pc.unique(labels.filter(pa.array(bad))).to_pylist()
        raise SubmissionInvalid(
            f"{has(int(bad.sum()), 'row')} a label other than 0 or 1: "
            f"{_some(offending)}, e.g. {example_ids(bad)}."
        )
    return codes


def cluster_codes(clusters: pa.ChunkedArray, example_ids: ExampleIds) -> np.ndarray:
    """A code (int64) per row, equal for equal cluster ids; any text or integers, not empty."""
    if not (is_text(clusters.type) or pa.types.is_integer(clusters.type)):
        raise SubmissionInvalid(
            f"Column 'cluster' has type {clusters.type}; expected cluster ids (text or integers)."
        )
    empty = null_mask(clusters)
    if is_text(clusters.type):
        empty = empty | _empty(as_string(clusters))
    _refuse_unusable(empty, "an empty cluster", example_ids)
    return codes_of(clusters)


def proba_matrix(table: pa.Table, classes: list[str], example_ids: ExampleIds) -> np.ndarray | None:
    """The n x k float64 probabilities from ``proba_<class>`` columns, or None if absent."""
    names = [name for name in table.column_names if name.startswith(PROBA_PREFIX)]
    if not names:
        return None
    known = {PROBA_PREFIX + c for c in classes}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SubmissionInvalid(
            f"Probability columns must be proba_<class> for the task's classes; unknown: "
            f"{_some(unknown)}. The classes are: {examples(classes, limit=30)}."
        )
    missing = [PROBA_PREFIX + c for c in classes if PROBA_PREFIX + c not in names]
    if missing:
        raise SubmissionInvalid(
            "Give probabilities for every class or for none; "
            f"{count(len(missing), 'column is', 'columns are')} missing: {_some(missing)}."
        )
    by_class = np.vstack([_floats(table, PROBA_PREFIX + c) for c in classes])
    matrix = by_class.T  # n x k, each class contiguous: fast to check and to sum
    sums = by_class.sum(axis=0)
    if np.isfinite(sums).all() and by_class.min() >= 0 and by_class.max() <= 1:
        off = np.abs(sums - 1) > SUM_TOLERANCE
        if not off.any():
            return matrix
    _refuse_unusable(np.isnan(matrix).any(axis=1), "an empty or NaN probability", example_ids)
    _refuse_unusable(
        ((matrix < 0) | (matrix > 1)).any(axis=1), "a probability outside [0, 1]", example_ids
    )
    off = np.abs(sums - 1) > SUM_TOLERANCE
    raise SubmissionInvalid(
        f"{has(int(off.sum()), 'row')} probabilities that do not sum to 1 "
        f"(within {SUM_TOLERANCE}), e.g. {example_ids(off)} "
        f"(sums {', '.join(f'{s:.6g}' for s in sums[off][:5])})."
    )


def match_scores(table: pa.Table, example_ids: ExampleIds) -> np.ndarray | None:
    """The float64 ``score`` column in [0, 1], or None if absent."""
    if "score" not in table.column_names:
        return None
    scores = _floats(table, "score")
    _refuse_unusable(np.isnan(scores), "an empty or NaN score", example_ids)
    _refuse_unusable((scores < 0) | (scores > 1), "a score outside [0, 1]", example_ids)
    return scores


def _floats(table: pa.Table, name: str) -> np.ndarray:
    column = table[name]
    if not (
        pa.types.is_floating(column.type)
        or pa.types.is_integer(column.type)
        or pa.types.is_null(column.type)
    ):
        raise SubmissionInvalid(
            f"Column {name!r} has type {column.type}; expected numbers (float64)."
        )
    return np.asarray(column.cast(pa.float64()).to_numpy(), dtype=np.float64)


def _empty(text: pa.ChunkedArray) -> np.ndarray:
    return null_mask(text) | np.asarray(pc.fill_null(pc.equal(text, ""), False).to_numpy())


def _refuse_empty(empty: np.ndarray, example_ids: ExampleIds) -> None:
    _refuse_unusable(empty, "an empty label", example_ids)


def _refuse_unusable(rows: np.ndarray, what: str, example_ids: ExampleIds) -> None:
    if rows.any():
        raise SubmissionInvalid(f"{has(int(rows.sum()), 'row')} {what}, e.g. {example_ids(rows)}.")


def _some(values: list[object]) -> str:
    more = len(values) - 5
    return examples(values) + (f" and {more:,} more" if more > 0 else "")
