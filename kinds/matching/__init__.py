"""Record matching: each row is a candidate pair of records, label 1 when both describe the
same thing (docs/architecture.md §4).

- Features come as ``left_<attr>`` / ``right_<attr>`` pairs, typed together; labels are 0/1
  (integers, booleans or the text "0", "1", "true", "false" in any case), both present in
  train; stored as int64.
- A submission gives ``id,label`` and optionally ``score`` in [0, 1].
- Metrics, equal to scikit-learn's: ``f1`` of the match class (primary), ``precision``,
  ``recall`` (zero_division=0) and, with scores, ``average_precision`` and ``opis`` (when
  the task names an ``opis.group_column``).
- Bootstrap of F1: per entry ``tp = pred & y`` and ``pp = pred``, plus one column ``y``;
  F1 = 2 TP / (PP + P), 0 when PP + P = 0.
- Trivial reference: no match, the train's base rate as ``score``.
- The champion gate (docs/organizers/champion-gate.md): the unit of a flip is the candidate pair; a
  pair is right when its 0/1 label equals the truth, so a pair breaks when the champion
  decided it right and the new entry wrong (a match missed, or a false match made).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from common.arrowtools import as_string, index_of, is_text, null_mask
from common.coerce import as_binary
from common.curves_svg import threshold_chart_svg
from common.refusals import SubmissionInvalid, has
from common.splits import SPLITS, split_masks
from common.wording import examples as quoted
from kinds.base import (
    BundleLabels,
    Chart,
    ExampleIds,
    Metric,
    OpisInputs,
    Predicted,
    RowStatistic,
    TaskKind,
    Truth,
    Values,
    Where,
)
from kinds.cards import number
from kinds.classification import class_balance, class_truth, sorted_distinct
from kinds.confusion import confusion_chart, confusion_digest, confusions
from kinds.handed import absent_problem, codes_problem, floats_problem
from kinds.matching.curves import (
    PRCurve,
    average_precision,
    descending,
    downsample,
    pr_curve,
)
from kinds.matching.stress import FAMILIES, attributes
from kinds.reading import empty, floats, other_values, refuse_empty, refuse_rows, some

CLASSES = ["0", "1"]
CLASS_NAMES = ("0 (no match)", "1 (match)")
PAIR_PREFIXES = ("left_", "right_")
CURVE_POINTS = 200
DIGITS = 4
_MATCH_TEXT = ["0", "1", "false", "true", "False", "True", "FALSE", "TRUE"]


class F1(RowStatistic):
    """Per entry: true positives and predicted positives; shared: the positives.
    F1 = 2 TP / (PP + P), and 0 when PP + P = 0 (nothing predicted, nothing to find)."""

    per_entry = 2
    shared = 1
    binary = True

    def prepare(
        self, y: np.ndarray, preds: Sequence[np.ndarray]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        arrays = [np.asarray(p) for p in preds]
        for name, a in [("y", y), *((f"preds[{i}]", p) for i, p in enumerate(arrays))]:
            if _not_binary(np.asarray(a)):
                raise ValueError(f"{name} must hold only 0 and 1 for a matching task")
        return y.astype(bool), [p.astype(bool) for p in arrays]

    def entry_columns(self, y: np.ndarray, pred: np.ndarray, out: np.ndarray) -> None:
        np.logical_and(pred, y, out=out[0], casting="unsafe")
        out[1] = pred

    def shared_columns(self, y: np.ndarray, out: np.ndarray) -> None:
        out[0] = y

    def entry_sums(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        return np.array([np.count_nonzero(pred & y), np.count_nonzero(pred)], dtype=np.float64)

    def shared_sums(self, y: np.ndarray) -> np.ndarray:
        return np.array([np.count_nonzero(y)], dtype=np.float64)

    def scores(
        self, entry_sums: np.ndarray, shared_sums: np.ndarray, n: float | np.ndarray
    ) -> np.ndarray:
        tp, pp = entry_sums[..., 0], entry_sums[..., 1]
        denominator = pp + shared_sums[..., 0:1]
        f1 = np.zeros_like(tp)
        np.divide(2 * tp, denominator, out=f1, where=denominator > 0)
        return f1


def _not_binary(a: np.ndarray) -> bool:
    """Whether ``a`` holds a value other than 0 and 1 (integers: by their range, two quick
    reductions instead of two comparisons a value)."""
    if a.dtype == bool or a.size == 0:
        return False
    if a.dtype.kind in "iu":
        return bool(a.min() < 0 or a.max() > 1)
    return bool(np.any((a != 0) & (a != 1)))


class Matching(TaskKind):
    name = "matching"
    label = "record matching"
    metrics = (
        Metric("f1", "F1", True),
        Metric("precision", "Precision", True),
        Metric("recall", "Recall", True),
        Metric("average_precision", "Avg. precision", True),
    )
    selectable = ("f1", "precision", "recall")
    primary = "f1"
    label_meaning = "0 / 1"
    label_dtype = "int64"
    opis_group_column = True
    consistency_columns = ("transitivity_violations",)
    flip_noun = "pair"

    # --- the bundle --------------------------------------------------------------------

    def column_group(self, column: str) -> str:
        return column.removeprefix("left_").removeprefix("right_")

    def check_features(self, file_name: str, features: list[str], problems: list[str]) -> None:
        loose = [c for c in features if not c.startswith(PAIR_PREFIXES) or c in PAIR_PREFIXES]
        if loose:
            problems.append(
                f"{file_name}: matching feature columns must be named left_<attr> or"
                f" right_<attr>; these are not: {quoted(loose)}"
            )
        lefts = {c[len("left_") :] for c in features if c.startswith("left_")} - {""}
        rights = {c[len("right_") :] for c in features if c.startswith("right_")} - {""}
        unpaired = [f"left_{a} (no right_{a})" for a in sorted(lefts - rights)]
        unpaired += [f"right_{a} (no left_{a})" for a in sorted(rights - lefts)]
        if unpaired:
            problems.append(f"{file_name}: unpaired matching columns: {', '.join(unpaired[:5])}")
        if not lefts & rights:
            problems.append(
                f"{file_name}: matching needs at least one pair of columns left_<attr> and"
                " right_<attr>"
            )

    def bundle_labels(
        self, raw: pa.Array, text: pa.Array, *, file_name: str, where: Where, problems: list[str]
    ) -> pa.Array:
        binary, bad = as_binary(raw)
        other_values(problems, file_name, text, bad, "matching labels must be 0 or 1")
        return binary.cast(pa.int64())

    def bundle_classes(
        self, labels: BundleLabels, problems: list[str], warnings: list[str]
    ) -> tuple[str, ...]:
        train_name, train_labels = labels.train_name, labels.train
        solution_name, solution_labels = labels.solution_name, labels.solution
        seen = [str(v) for v in sorted_distinct(train_labels)]
        if set(seen) != set(CLASSES):
            problems.append(
                f"{train_name}: matching needs both matches (1) and non-matches (0) in 'label',"
                f" found only {quoted(seen) or 'none'}"
            )
        if solution_labels is not None and 1 not in sorted_distinct(solution_labels):
            warnings.append(f"{solution_name} holds no match (label 1); F1 will be 0 for all")
        return tuple(CLASSES)

    def card_labels(self, train_labels: pa.Array) -> dict[str, Any]:
        ones = pc.sum(pc.equal(train_labels, 1)).as_py() or 0
        rate = number(ones / len(train_labels)) if len(train_labels) else None
        return {"class_balance": class_balance(train_labels), "positive_rate": rate}

    # --- the truth and a submission ----------------------------------------------------

    def solution_classes(self, classes: Sequence[object]) -> list[str]:
        classes = [str(c) for c in classes]
        if classes != CLASSES:
            raise ValueError(f"matching tasks have classes {CLASSES}, not {classes}")
        return classes

    def truth(self, labels: pa.ChunkedArray, classes: list[str]) -> np.ndarray:
        return class_truth(labels, classes)

    def optional_output_columns(self, classes: Sequence[str]) -> list[str]:
        return ["score"]

    def read_values(
        self, table: pa.Table, *, classes: list[str], example_ids: ExampleIds
    ) -> Values:
        return Values(
            pred=match_codes(table["label"], example_ids), score=match_scores(table, example_ids)
        )

    def metric_names(self, *, scores_given: bool, opis_groups: bool = False) -> list[str]:
        extra = ["average_precision"] if scores_given else []
        return ["f1", "precision", "recall"] + extra + (["opis"] if extra and opis_groups else [])

    def evaluate(self, aligned: Predicted, truth: Truth) -> dict[str, dict[str, float]]:
        matrices = confusions(aligned, truth)
        masks = split_masks(truth.is_public)
        order = None if aligned.score is None else descending(aligned.score)
        return {
            split: _metrics(matrices[split], aligned, truth, order, masks[split])
            for split in SPLITS
        }

    def opis_inputs(self, aligned: Predicted, truth: Truth) -> OpisInputs | None:
        if aligned.score is None:
            return None
        return OpisInputs(score=aligned.score)

    def handed_problem(self, values: Values, *, rows: int, classes: Sequence[str]) -> str | None:
        """0/1 codes, and match scores in [0, 1] (:func:`match_codes`, :func:`match_scores`)."""
        problem = absent_problem(proba=values.proba) or codes_problem(
            values.pred, high=2, what="the match codes"
        )
        if problem is None and values.score is not None:
            problem = floats_problem(values.score, what="the match scores", low=0.0, high=1.0)
        return problem

    # --- stress runs and consistency ----------------------------------------------------

    def stress_families(self) -> Mapping[str, Any]:
        return FAMILIES

    def consistency_context(
        self, features: pa.Table, columns: Sequence[tuple[str, str]]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        from kinds.matching.transitivity import record_keys

        attrs = attributes(tuple(columns))
        return record_keys(features, attrs) if attrs else None

    def consistency(self, context: Any, pred: np.ndarray) -> dict[str, float | None]:
        from kinds.matching.transitivity import transitivity_violations

        if context is None or len(context[0]) != len(pred):
            return {"transitivity_violations": None}
        left, right = context
        return {"transitivity_violations": transitivity_violations(left, right, pred)}

    # --- boards ------------------------------------------------------------------------

    def gate_flips(
        self, y: np.ndarray, new: np.ndarray, champion: np.ndarray, options: Mapping[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per candidate pair: fixed (the champion decided it wrong, the new entry right) and
        broken (the reverse); a decision is right when it equals the truth (0 or 1)."""
        truth = np.asarray(y) != 0
        right = (np.asarray(new) != 0) == truth
        was_right = (np.asarray(champion) != 0) == truth
        return right & ~was_right, was_right & ~right

    def statistic(self, metric: str) -> F1 | None:
        return F1() if metric == "f1" else None

    def trivial(self, train_labels: pa.ChunkedArray, truth: Truth) -> dict[str, pa.Array]:
        values = np.asarray(pc.cast(train_labels, pa.float64()).to_numpy(zero_copy_only=False))
        rate = float(values.mean()) if values.size else 0.0
        n = len(truth.y)
        return {
            "label": pa.array(np.zeros(n, dtype=np.int64)),
            "score": pa.array(np.full(n, rate)),
        }

    # --- pages -------------------------------------------------------------------------

    def digest(self, aligned: Predicted, truth: Truth, mask: np.ndarray | None) -> dict[str, Any]:
        out: dict[str, Any] = {**confusion_digest(aligned, truth, mask), "threshold": None}
        rows = truth.y.size if mask is None else int(np.count_nonzero(mask))
        if aligned.score is not None and rows:
            curve = precision_recall_curve_points(aligned, truth, mask, max_points=CURVE_POINTS)
            out["threshold"] = {
                "thresholds": _rounded(np.asarray(curve.thresholds)),
                "precision": _rounded(np.asarray(curve.precision[:-1])),
                "recall": _rounded(np.asarray(curve.recall[:-1])),
            }
        return out

    def charts(self, digest: Mapping[str, Any], *, classes: Sequence[str]) -> list[Chart]:
        charts = [confusion_chart(digest, CLASS_NAMES)] if "confusion" in digest else []
        curve = digest.get("threshold")
        if curve is not None:
            svg = threshold_chart_svg(
                thresholds=_floats(curve["thresholds"]),
                precision=_floats(curve["precision"]),
                recall=_floats(curve["recall"]),
                title="Precision and recall against the threshold",
            )
            charts.append(Chart("threshold-chart", svg))
        return charts


def _rounded(values: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), DIGITS) for v in values]


def _floats(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _metrics(
    cm: np.ndarray,
    aligned: Predicted,
    truth: Truth,
    order: np.ndarray | None,
    mask: np.ndarray | None,
) -> dict[str, float]:
    if cm.sum() == 0:
        return {}
    tp, fp, fn = (float(cm[1, 1]), float(cm[0, 1]), float(cm[1, 0]))
    out = {
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
    }
    if aligned.score is not None and order is not None:
        if mask is not None:
            order = order[mask[order]]
        out["average_precision"] = average_precision(pr_curve(truth.y, aligned.score, order))
    return out


def precision_recall_curve_points(
    aligned: Predicted, truth: Truth, mask: np.ndarray | None = None, *, max_points: int = 200
) -> PRCurve:
    """scikit-learn's precision_recall_curve for matching scores, at most ``max_points``."""
    if aligned.score is None:
        raise ValueError("the submission has no scores")
    y, score = truth.y, aligned.score
    if mask is not None:
        y, score = y[mask], score[mask]
    return downsample(pr_curve(y, score, descending(score)), max_points)


def match_codes(labels: pa.ChunkedArray, example_ids: ExampleIds) -> np.ndarray:
    """0/1 (int32) of every matching label; refuses anything else."""
    type_ = labels.type
    if pa.types.is_integer(type_) or pa.types.is_boolean(type_):
        blank = null_mask(labels)
        values = labels.cast(pa.int64()).fill_null(-1).to_numpy()
        codes = np.where((values == 0) | (values == 1), values, -1).astype(np.int32)
    elif is_text(type_):
        blank = empty(as_string(labels))
        codes = index_of(labels, _MATCH_TEXT)
        codes = np.where(codes >= 0, codes % 2, -1).astype(np.int32)
    else:
        raise SubmissionInvalid(
            f"Column 'label' has type {type_}; expected 0 or 1 (integers, booleans or text)."
        )
    bad = codes < 0
    if bad.any():
        refuse_empty(blank, example_ids)
        offending = pc.unique(labels.filter(pa.array(bad))).to_pylist()
        raise SubmissionInvalid(
            f"{has(int(bad.sum()), 'row')} a label other than 0 or 1: "
            f"{some(offending)}, e.g. {example_ids(bad)}."
        )
    return codes


def match_scores(table: pa.Table, example_ids: ExampleIds) -> np.ndarray | None:
    """The float64 ``score`` column in [0, 1], or None if absent."""
    if "score" not in table.column_names:
        return None
    scores = floats(table, "score")
    refuse_rows(np.isnan(scores), "an empty or NaN score", example_ids)
    refuse_rows((scores < 0) | (scores > 1), "a score outside [0, 1]", example_ids)
    return scores


KIND = Matching()
