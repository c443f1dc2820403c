"""Regression: a number per row (docs/architecture.md §4, the fourth kind).

- ``label`` is a number in train and solution (finite, at most ``MAX_ABS`` in magnitude,
  at least two different values in train); stored as float64. The test rows are split
  stratified by the deciles of the label, so both splits span its range.
- ``task.yaml`` may give ``tolerance`` (a number >= 0): a row is *right* (flips, the
  insight) when its absolute error is within it. Default: the train labels' standard
  deviation (population, ddof 0) / 10, computed at import and kept in ``task.json``.
- A submission gives ``id,label`` with a number per row (integers, floats, or text that
  reads as a number); empty, NaN, infinite and larger-than-``MAX_ABS`` values are refused.
- Metrics, equal to scikit-learn's: ``rmse`` (primary, lower is better:
  mean_squared_error ** 0.5), ``mae`` (lower is better: mean_absolute_error) and ``r2``
  (higher is better: r2_score, with its conventions: constant truth gives 1.0 for a
  perfect prediction and 0.0 otherwise; fewer than two rows give NaN, stored as null).
- Bootstrap: RMSE from the squared error per entry; R² adds the truth's sums (shifted by
  its mean, so the sums keep their precision).
- On a track a regression task counts as its R² clipped to [0, 1] (``track_value``: RMSE
  is in the label's units); ranking by RMSE or by R² orders one task's board alike.
- Trivial reference: the train labels' mean for every row.
- The champion gate (docs/organizers/champion-gate.md): a row *breaks* when its absolute error grows
  by more than the tolerance, and is *fixed* when it shrinks by more than it; numbers are
  no labels, so McNemar's test does not apply (the bootstrap of the metric decides).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from common.arrowtools import is_text
from common.coerce import as_numbers
from common.refusals import SubmissionInvalid, has
from common.split import public_rows
from common.splits import SPLITS, split_masks
from common.svg import bar_chart_svg
from common.wording import plural, quote
from kinds.base import (
    BundleLabels,
    Chart,
    ExampleIds,
    Metric,
    Predicted,
    RowStatistic,
    TaskKind,
    Truth,
    Values,
    Where,
)
from kinds.cards import number
from kinds.classification import STRESS_FAMILIES
from kinds.handed import absent_problem, floats_problem
from kinds.reading import empty, other_values, refuse_rows, some

MAX_ABS = 1e150  # beyond it, squared errors summed over millions of rows overflow float64
STRATA = 10  # the test rows are split within each decile of the label
HISTOGRAM_BINS = 20  # the card's label histogram
RESIDUAL_BINS = 24  # the insight's histogram of errors
DIGITS = 6
_NUMBER = r"^[+-]?((\d+\.?\d*)|(\.\d+))([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$"


class SquaredError(RowStatistic):
    """RMSE = sqrt(sum of squared errors / n): one column per entry."""

    integer = False

    def prepare(
        self, y: np.ndarray, preds: Sequence[np.ndarray]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        return np.asarray(y, dtype=np.float64), [np.asarray(p, dtype=np.float64) for p in preds]

    def entry_columns(self, y: np.ndarray, pred: np.ndarray, out: np.ndarray) -> None:
        np.subtract(pred, y, out=out[0])
        np.square(out[0], out=out[0])

    def scores(
        self, entry_sums: np.ndarray, shared_sums: np.ndarray, n: float | np.ndarray
    ) -> np.ndarray:
        sse = entry_sums[..., 0]
        out = np.full_like(sse, np.nan)
        rows = np.broadcast_to(np.asarray(n, dtype=np.float64), sse.shape)
        np.divide(sse, rows, out=out, where=rows > 0)
        return np.sqrt(out)


class RSquared(SquaredError):
    """R² = 1 - SSE / SST: the squared error per entry, then the truth (shifted by its
    mean) and its square, whose sums give SST = sum y² - (sum y)² / n."""

    shared = 2

    def prepare(
        self, y: np.ndarray, preds: Sequence[np.ndarray]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        y, arrays = super().prepare(y, preds)
        self.shift = float(y.mean()) if y.size else 0.0
        return y, arrays

    def shared_columns(self, y: np.ndarray, out: np.ndarray) -> None:
        np.subtract(y, self.shift, out=out[0])
        np.square(out[0], out=out[1])

    def scores(
        self, entry_sums: np.ndarray, shared_sums: np.ndarray, n: float | np.ndarray
    ) -> np.ndarray:
        sse = entry_sums[..., 0]
        rows = np.broadcast_to(np.asarray(n, dtype=np.float64), sse.shape)
        total, squares = shared_sums[..., 0:1], shared_sums[..., 1:2]
        n = np.broadcast_to(np.asarray(n, dtype=np.float64), total.shape)
        mean_square = np.divide(total**2, n, out=np.zeros_like(total), where=n > 0)
        sst = squares - mean_square
        # What is left of the sums' rounding is no spread: a resample of equal values.
        sst = np.where(sst <= 1e-12 * squares, 0.0, sst)
        return r2_values(sse, np.broadcast_to(sst, sse.shape), rows)


def r2_values(sse: np.ndarray, sst: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """1 - SSE / SST with scikit-learn's conventions: SST = 0 (constant truth) gives 1.0
    when SSE = 0 and 0.0 otherwise; fewer than 2 rows give NaN."""
    arrays = (np.asarray(a, dtype=np.float64) for a in (sse, sst, rows))
    sse, sst, rows = np.broadcast_arrays(*arrays)
    varied = sst > 0
    with np.errstate(over="ignore"):  # a huge error over a tiny spread: R² is -inf (stored None)
        ratio = np.divide(sse, sst, out=np.zeros_like(sse), where=varied)
    out = np.where(varied, 1.0 - ratio, np.where(sse == 0, 1.0, 0.0))
    return np.where(rows < 2, np.nan, out)


class Regression(TaskKind):
    name = "regression"
    label = "regression"
    hint = "for a number per row"
    metrics = (
        Metric("rmse", "RMSE", False),
        Metric("mae", "MAE", False),
        Metric("r2", "R²", True),
    )
    selectable = ("rmse", "r2")
    primary = "rmse"
    label_meaning = "number"
    label_dtype = "float64"
    has_classes = False
    options = ("tolerance",)
    track_metrics = ("r2",)
    right_means = "its absolute error is within the task's tolerance"
    mcnemar = False  # numbers, not labels: the gate asks the bootstrap alone
    track_note = (
        "is a regression task: it counts as its R² clipped to [0, 1] (its RMSE is lower-is-"
        "better and in the label's units)"
    )
    leak_probe = "number"

    # --- task.yaml and the bundle ------------------------------------------------------

    def read_options(self, data: Mapping[Any, Any], problems: list[str]) -> dict[str, Any]:
        value = data.get("tolerance")
        if value is None:
            return {}
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"task.yaml: tolerance must be a number >= 0, not {quote(value)}")
            return {}
        if not math.isfinite(value) or value < 0 or abs(value) > MAX_ABS:
            problems.append(
                f"task.yaml: tolerance must be a finite number >= 0, not {quote(value)}"
            )
            return {}
        return {"tolerance": float(value)}

    def bundle_labels(
        self, raw: pa.Array, text: pa.Array, *, file_name: str, where: Where, problems: list[str]
    ) -> pa.Array:
        numbers, not_numbers = as_numbers(raw)
        other_values(problems, file_name, text, not_numbers, "regression labels must be numbers")
        values = np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.float64)
        huge = ~np.isnan(values) & ~(np.abs(values) <= MAX_ABS)
        if huge.any():
            problems.append(
                f"{file_name}: regression labels must be finite numbers of magnitude at most"
                f" {MAX_ABS:g}; {plural(int(huge.sum()), 'row')} are not, {where(pa.array(huge))}"
            )
        return numbers

    def bundle_classes(
        self, labels: BundleLabels, problems: list[str], warnings: list[str]
    ) -> tuple[str, ...]:
        distinct = pc.count_distinct(labels.train).as_py()
        if labels.train_rows and distinct < 2:
            problems.append(
                f"{labels.train_name}: regression needs at least 2 different values in"
                f" 'label', found {distinct}"
            )
        return ()

    def public_rows(self, labels: pa.Array, *, public_fraction: float, seed: int) -> np.ndarray:
        return public_rows(
            pa.array(deciles(_floats(labels))), public_fraction=public_fraction, seed=seed
        )

    def task_meta(self, options: Mapping[str, Any], train_labels: pa.Array) -> dict[str, Any]:
        tolerance = options.get("tolerance")
        if tolerance is None:
            values = _floats(train_labels)
            tolerance = float(np.std(values)) / 10 if values.size else 0.0
        return {"tolerance": tolerance}

    def card_labels(self, train_labels: pa.Array) -> dict[str, Any]:
        return {"label_distribution": distribution(_floats(train_labels))}

    def card_view(self, card: Mapping[str, Any]) -> dict[str, Any]:
        found = card.get("label_distribution") or {}
        return {"label_distinct": int(found.get("distinct") or 0), "distribution": found}

    # --- the truth and a submission ----------------------------------------------------

    def solution_classes(self, classes: Sequence[object]) -> list[str]:
        return []

    def solution_options(self, meta: Mapping[str, Any]) -> dict[str, Any]:
        return {"tolerance": float(meta.get("tolerance") or 0.0)}

    def truth(self, labels: pa.ChunkedArray, classes: list[str]) -> np.ndarray:
        if not (pa.types.is_floating(labels.type) or pa.types.is_integer(labels.type)):
            raise ValueError(f"regression solution labels must be numbers, not {labels.type}")
        y = np.asarray(labels.cast(pa.float64()).to_numpy(), dtype=np.float64)
        if not np.isfinite(y).all():
            raise ValueError("regression solution labels must be finite numbers")
        return y

    def read_values(
        self, table: pa.Table, *, classes: list[str], example_ids: ExampleIds
    ) -> Values:
        return Values(pred=label_numbers(table["label"], example_ids))

    def metric_names(self, *, scores_given: bool, opis_groups: bool = False) -> list[str]:
        return ["rmse", "mae", "r2"]

    def handed_problem(self, values: Values, *, rows: int, classes: Sequence[str]) -> str | None:
        """Finite numbers within ±``MAX_ABS``, as :func:`label_numbers` reads them."""
        return absent_problem(proba=values.proba, score=values.score) or floats_problem(
            values.pred, what="the predicted numbers", low=-MAX_ABS, high=MAX_ABS
        )

    def evaluate(self, aligned: Predicted, truth: Truth) -> dict[str, dict[str, float]]:
        errors = np.asarray(aligned.pred, dtype=np.float64) - truth.y
        out: dict[str, dict[str, float]] = {}
        for split, mask in split_masks(truth.is_public).items():
            e, y = (errors, truth.y) if mask is None else (errors[mask], truth.y[mask])
            out[split] = _metrics(e, y)
        return {split: out[split] for split in SPLITS}

    # --- boards ------------------------------------------------------------------------

    def rows_right(self, y: np.ndarray, pred: np.ndarray, options: Mapping[str, Any]) -> np.ndarray:
        tolerance = float(options.get("tolerance") or 0.0)
        return np.abs(np.asarray(pred, dtype=np.float64) - np.asarray(y)) <= tolerance

    def gate_flips(
        self, y: np.ndarray, new: np.ndarray, champion: np.ndarray, options: Mapping[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        """A row breaks when its absolute error grows by more than the task's tolerance, and
        is fixed when it shrinks by more than it (docs/organizers/champion-gate.md)."""
        tolerance = float(options.get("tolerance") or 0.0)
        truth = np.asarray(y, dtype=np.float64)
        error = np.abs(np.asarray(new, dtype=np.float64) - truth)
        before = np.abs(np.asarray(champion, dtype=np.float64) - truth)
        return before - error > tolerance, error - before > tolerance

    def statistic(self, metric: str) -> SquaredError | None:
        if metric == "rmse":
            return SquaredError()
        return RSquared() if metric == "r2" else None

    def shown_metrics(
        self, metric: str, shown: float, exact: Mapping[str, Any]
    ) -> dict[str, float]:
        """The track reads R² (``track_metrics``): on a ladder board ranked by RMSE it moves
        with the shown RMSE, R² = 1 - MSE / variance of the public truth, so
        ``1 - (1 - R²) (shown / RMSE)²`` (no exact value of the entry is kept)."""
        out = {metric: shown}
        rmse, r2 = exact.get("rmse"), exact.get("r2")
        if metric == "rmse" and rmse is not None and r2 is not None and math.isfinite(r2):
            out["r2"] = float(r2) if rmse == 0 else 1 - (1 - float(r2)) * (shown / rmse) ** 2
        return out

    def track_value(self, metric: str, score: float, metrics: Mapping[str, Any]) -> float | None:
        r2 = score if metric == "r2" else metrics.get("r2")
        if r2 is None or not math.isfinite(r2):
            return None
        return min(max(float(r2), 0.0), 1.0)

    def trivial(self, train_labels: pa.ChunkedArray, truth: Truth) -> dict[str, pa.Array]:
        values = _floats(train_labels)
        mean = float(values.mean()) if values.size else 0.0
        return {"label": pa.array(np.full(len(truth.y), mean))}

    def stress_families(self) -> Mapping[str, Any]:
        return STRESS_FAMILIES

    # --- pages -------------------------------------------------------------------------

    def digest(self, aligned: Predicted, truth: Truth, mask: np.ndarray | None) -> dict[str, Any]:
        errors = np.asarray(aligned.pred, dtype=np.float64) - truth.y
        if mask is not None:
            errors = errors[mask]
        if not errors.size:
            return {"residuals": None}
        tolerance = float(truth.options.get("tolerance") or 0.0)
        size = np.abs(errors)
        reach = float(np.quantile(size, 0.99)) or float(size.max()) or 1.0
        counts, edges = np.histogram(
            np.clip(errors, -reach, reach), bins=RESIDUAL_BINS, range=(-reach, reach)
        )
        return {
            "residuals": {
                "tolerance": tolerance,
                "within_tolerance": float(np.mean(size <= tolerance)),
                "mean_error": _round(errors.mean()),
                "abs_error": {
                    name: _round(np.quantile(size, q))
                    for name, q in (("median", 0.5), ("p90", 0.9), ("p99", 0.99))
                },
                "edges": [_round(v) for v in edges],
                "counts": counts.tolist(),
            }
        }

    def charts(self, digest: Mapping[str, Any], *, classes: Sequence[str]) -> list[Chart]:
        found = digest.get("residuals")
        if not found:
            return []
        edges, counts = found["edges"], found["counts"]
        bars = [
            (f"{(lo + hi) / 2:.3g}", float(n))
            for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True)
        ]
        svg = bar_chart_svg(
            bars,
            title="Errors (prediction - truth); the outer bars hold the tails",
            y_label="rows",
            width=560,
        )
        return [Chart("residual-histogram", svg)]


def _round(value: float) -> float | None:
    return None if not math.isfinite(value) else float(f"{value:.{DIGITS}g}")


def _metrics(errors: np.ndarray, y: np.ndarray) -> dict[str, float]:
    n = errors.size
    if n == 0:
        return {}
    sse = float(np.dot(errors, errors))
    sst = float(np.sum((y - y.mean()) ** 2))
    return {
        "rmse": math.sqrt(sse / n),
        "mae": float(np.mean(np.abs(errors))),
        "r2": float(r2_values(np.array(sse), np.array(sst), np.array(float(n)))),
    }


def _floats(labels: pa.Array | pa.ChunkedArray) -> np.ndarray:
    values = np.asarray(pc.cast(labels, pa.float64()).to_numpy(zero_copy_only=False))
    return values[~np.isnan(values)]


def deciles(values: np.ndarray) -> np.ndarray:
    """The decile (0..9) of each value, for a split stratified by the label's range (fewer
    strata when there are fewer distinct quantiles)."""
    if values.size == 0:
        return values.astype(np.int64)
    edges = np.unique(np.quantile(values, np.linspace(0, 1, STRATA + 1)[1:-1]))
    return np.searchsorted(edges, values, side="right").astype(np.int64)


def distribution(values: np.ndarray) -> dict[str, Any]:
    """What the dataset card says of numeric labels: count, mean, spread, quantiles and a
    histogram."""
    if values.size == 0:
        return {"count": 0}
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
    quantiles = np.quantile(values, [0.25, 0.5, 0.75])
    return {
        "count": int(values.size),
        "distinct": int(np.unique(values).size),
        "mean": number(values.mean()),
        "std": number(values.std()),
        "min": number(values.min()),
        "q25": number(quantiles[0]),
        "median": number(quantiles[1]),
        "q75": number(quantiles[2]),
        "max": number(values.max()),
        "histogram": [
            {"low": number(lo), "high": number(hi), "count": int(n)}
            for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True)
        ],
    }


def label_numbers(labels: pa.ChunkedArray, example_ids: ExampleIds) -> np.ndarray:
    """A float64 per row from the ``label`` column: numbers, or text that reads as one
    (surrounding spaces allowed); refuses empty, non-numeric, NaN, infinite and larger
    than ``MAX_ABS`` values."""
    type_ = labels.type
    if pa.types.is_floating(type_) or pa.types.is_integer(type_) or pa.types.is_null(type_):
        values = np.asarray(labels.cast(pa.float64()).to_numpy(), dtype=np.float64)
    elif is_text(type_):
        values = _parsed(labels, example_ids)
    else:
        raise SubmissionInvalid(
            f"Column 'label' has type {type_}; expected a number per row (integers or floats)."
        )
    refuse_rows(np.isnan(values), "an empty or NaN label", example_ids)
    refuse_rows(np.isinf(values), "an infinite label", example_ids)
    refuse_rows(
        np.abs(values) > MAX_ABS, f"a label too large to score (beyond ±{MAX_ABS:g})", example_ids
    )
    return values


def _parsed(labels: pa.ChunkedArray, example_ids: ExampleIds) -> np.ndarray:
    if pa.types.is_dictionary(labels.type):
        labels = labels.cast(labels.type.value_type)
    text = pc.utf8_trim_whitespace(labels.cast(pa.string()))
    blank = empty(text)
    refuse_rows(blank, "an empty label", example_ids)
    numeric = np.asarray(
        pc.fill_null(pc.match_substring_regex(text, _NUMBER, ignore_case=True), False).to_numpy(
            zero_copy_only=False
        ),
        dtype=bool,
    )
    bad = ~numeric
    if bad.any():
        offending = pc.unique(text.filter(pa.array(bad))).to_pylist()
        raise SubmissionInvalid(
            f"{has(int(bad.sum()), 'row')} a label that is not a number: {some(offending)},"
            f" e.g. {example_ids(bad)}."
        )
    return np.asarray(text.cast(pa.float64()).to_numpy(), dtype=np.float64)


KIND = Regression()
