"""k-way classification: each row belongs to one of the task's classes
(docs/architecture.md §4).

- Labels are class names (text); integers are compared as text (3 == "3"). The classes are
  those of train and solution together (at least 2 in train, at most ``MAX_CLASSES``).
- A submission gives ``id,label`` and optionally ``proba_<class>`` for every class: numbers
  in [0, 1] whose row sums are 1 within ``SUM_TOLERANCE``.
- Metrics, equal to scikit-learn's: ``accuracy`` (primary), ``macro_f1`` (f1_score with
  average="macro", every class, zero_division=0) and, with probabilities, ``log_loss``
  (clipped to [eps, 1 - eps] of float64, not renormalized) and ``opis`` (groups: the
  classes, one-vs-rest). From one ``bincount`` of (split, truth, prediction).
- Bootstrap of the accuracy: one column per entry, ``pred == y``; accuracy = sum / n. The
  public board's ladder modes (docs/organizers/ladder.md) also decide on macro-F1 (:class:`MacroF1`:
  per class, true and predicted positives per entry, the positives shared).
- Trivial reference: the majority class of train, each class's train share as its
  probability.
- The champion gate (docs/organizers/champion-gate.md): the base rule, a row is right when its class
  is the truth; a row breaks when the champion had it right and the new entry wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from common.arrowtools import as_string, code_type, index_of, is_text
from common.parallel import map_rows
from common.refusals import SubmissionInvalid, count, examples, has
from common.splits import SPLITS
from common.wording import examples as quoted
from kinds import textnoise
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
)
from kinds.cards import number
from kinds.columns import FloatColumns
from kinds.confusion import confusion_chart, confusion_digest, confusions
from kinds.handed import absent_problem, codes_problem
from kinds.reading import empty, number_column, refuse_empty, refuse_rows, some
from kinds.stress import (
    Columns,
    Perturbed,
    StressContext,
    StressFamily,
    edit_rows,
    of_types,
    rotate_groups,
    type_groups,
)

MAX_CLASSES = 1000
SUM_TOLERANCE = 1e-3
PROBA_PREFIX = "proba_"


class Accuracy(RowStatistic):
    """One column per entry: 1 where the entry's class is the truth's; accuracy = sum / n."""

    binary = True

    def entry_columns(self, y: np.ndarray, pred: np.ndarray, out: np.ndarray) -> None:
        np.equal(pred, y, out=out[0], casting="unsafe")

    def entry_sums(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        return np.array([np.count_nonzero(pred == y)], dtype=np.float64)

    def scores(
        self, entry_sums: np.ndarray, shared_sums: np.ndarray, n: float | np.ndarray
    ) -> np.ndarray:
        sums = entry_sums[..., 0]
        scores = np.zeros_like(sums)
        np.divide(sums, n, out=scores, where=np.broadcast_to(np.asarray(n) > 0, sums.shape))
        return scores


class MacroF1(RowStatistic):
    """Macro-F1 over the task's ``n_classes`` classes (scikit-learn's ``f1_score`` with
    ``average="macro"``, every class, ``zero_division=0``): per entry and class, the true
    and the predicted positives; shared, each class's positives. F1 of a class = 2 TP /
    (PP + P), 0 when PP + P = 0; the score is their mean over every class."""

    binary = True

    def __init__(self, n_classes: int) -> None:
        if n_classes < 2:
            raise ValueError("macro-F1 needs at least two classes")
        self.n_classes = n_classes
        self.per_entry = 2 * n_classes
        self.shared = n_classes

    def prepare(
        self, y: np.ndarray, preds: Sequence[np.ndarray]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        arrays = [np.asarray(p) for p in preds]
        for name, a in [("y", np.asarray(y)), *((f"preds[{i}]", p) for i, p in enumerate(arrays))]:
            if a.size and (a.min() < 0 or a.max() >= self.n_classes):
                raise ValueError(f"{name} holds a class outside 0..{self.n_classes - 1}")
        return np.asarray(y), arrays

    def entry_columns(self, y: np.ndarray, pred: np.ndarray, out: np.ndarray) -> None:
        right = pred == y
        for c in range(self.n_classes):
            predicted = pred == c
            np.logical_and(predicted, right, out=out[2 * c], casting="unsafe")
            out[2 * c + 1] = predicted

    def shared_columns(self, y: np.ndarray, out: np.ndarray) -> None:
        for c in range(self.n_classes):
            out[c] = y == c

    def entry_sums(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        k = self.n_classes
        out = np.empty(2 * k, dtype=np.float64)
        out[0::2] = np.bincount(y[pred == y], minlength=k)[:k]
        out[1::2] = np.bincount(pred, minlength=k)[:k]
        return out

    def shared_sums(self, y: np.ndarray) -> np.ndarray:
        return np.bincount(y, minlength=self.n_classes)[: self.n_classes].astype(np.float64)

    def row_linear(self, y: np.ndarray, pred: np.ndarray, weights: np.ndarray) -> np.ndarray:
        # A row's only nonzero columns: its predicted class's PP, and its TP when right.
        return np.where(pred == y, weights[0::2][y], 0.0) + weights[1::2][pred]

    def scores(
        self, entry_sums: np.ndarray, shared_sums: np.ndarray, n: float | np.ndarray
    ) -> np.ndarray:
        tp, pp = entry_sums[..., 0::2], entry_sums[..., 1::2]
        denominator = pp + shared_sums[..., None, :]
        f1 = np.zeros_like(tp)
        np.divide(2 * tp, denominator, out=f1, where=denominator > 0)
        return f1.mean(axis=-1)


class Classification(TaskKind):
    name = "classification"
    label = "k-way classification"
    metrics = (
        Metric("accuracy", "Accuracy", True),
        Metric("macro_f1", "Macro-F1", True),
        Metric("log_loss", "Log-loss", False),
    )
    selectable = ("accuracy", "macro_f1")
    primary = "accuracy"
    opis_note = " group the rows by class"

    # --- the bundle --------------------------------------------------------------------

    def bundle_classes(
        self, labels: BundleLabels, problems: list[str], warnings: list[str]
    ) -> tuple[str, ...]:
        train_name, train_labels = labels.train_name, labels.train
        solution_name, solution_labels = labels.solution_name, labels.solution
        seen = sorted_distinct(train_labels)
        solution_seen = sorted_distinct(solution_labels)
        classes = sorted(set(seen) | set(solution_seen))
        if len(seen) < 2 and labels.train_rows:
            problems.append(
                f"{train_name}: classification needs at least 2 classes in 'label', found"
                f" {len(seen)}: {quoted(seen)}"
            )
        if len(classes) > MAX_CLASSES:
            problems.append(
                f"{train_name}: 'label' holds {len(classes):,} classes (train and solution"
                f" together), over the limit of {MAX_CLASSES:,}"
                " (is 'label' really a class?)"
            )
        unseen = [c for c in solution_seen if c not in set(seen)]
        if unseen and solution_name is not None:
            warnings.append(
                f"{solution_name}: classes that never appear in train ({len(unseen)}):"
                f" {quoted(unseen)}"
            )
        return tuple(classes)

    def card_labels(self, train_labels: pa.Array) -> dict[str, Any]:
        return {"class_balance": class_balance(train_labels)}

    # --- the truth and a submission ----------------------------------------------------

    def truth(self, labels: pa.ChunkedArray, classes: list[str]) -> np.ndarray:
        return class_truth(labels, classes)

    def optional_output_columns(self, classes: Sequence[str]) -> list[str]:
        return [f"{PROBA_PREFIX}{c}" for c in classes]

    def read_values(
        self, table: pa.Table, *, classes: list[str], example_ids: ExampleIds
    ) -> Values:
        pred = class_codes(table["label"], classes, example_ids)
        return Values(pred=pred, proba=proba_columns(table, classes, example_ids))

    def metric_names(self, *, scores_given: bool, opis_groups: bool = False) -> list[str]:
        return ["accuracy", "macro_f1"] + (["log_loss", "opis"] if scores_given else [])

    def evaluate(self, aligned: Predicted, truth: Truth) -> dict[str, dict[str, float]]:
        matrices = confusions(aligned, truth)
        probabilities, losses = aligned.probabilities, None
        if probabilities is not None:  # each row's as read, the truth brought along
            rows = _row_log_losses(probabilities.columns, probabilities.truth_rows(truth.y))
            losses = _split_log_losses(probabilities.placed(rows), truth.is_public)
        return {
            split: _metrics(matrices[split], None if losses is None else losses[split])
            for split in SPLITS
        }

    def opis_inputs(self, aligned: Predicted, truth: Truth) -> OpisInputs | None:
        if aligned.probabilities is None:
            return None
        return OpisInputs(proba=aligned.probabilities, classes=list(truth.classes))

    def handed_problem(self, values: Values, *, rows: int, classes: Sequence[str]) -> str | None:
        """Class codes in [0, k); probabilities as :func:`proba_columns` accepts them."""
        problem = absent_problem(score=values.score) or codes_problem(
            values.pred, high=len(classes), what="the class codes"
        )
        if problem is None and values.proba is not None and not _probabilities_valid(values.proba):
            problem = "the probabilities are not all in [0, 1] with each row summing to 1"
        return problem

    def stress_families(self) -> Mapping[str, StressFamily]:
        return STRESS_FAMILIES

    # --- boards ------------------------------------------------------------------------

    def statistic(self, metric: str) -> Accuracy | None:
        return Accuracy() if metric == "accuracy" else None

    def ladder_statistic(self, metric: str, *, classes: Sequence[str]) -> Accuracy | MacroF1 | None:
        return MacroF1(len(classes)) if metric == "macro_f1" else self.statistic(metric)

    def trivial(self, train_labels: pa.ChunkedArray, truth: Truth) -> dict[str, pa.Array]:
        counts = {
            str(v["values"]): int(v["counts"]) for v in pc.value_counts(train_labels).to_pylist()
        }
        total = sum(counts.values()) or 1
        n, classes = len(truth.y), list(truth.classes)
        majority = max(classes, key=lambda c: (counts.get(c, 0), -classes.index(c)))
        columns = {"label": pa.array([majority] * n)}
        for c in classes:
            columns[f"{PROBA_PREFIX}{c}"] = pa.array(np.full(n, counts.get(c, 0) / total))
        return columns

    # --- pages -------------------------------------------------------------------------

    def digest(self, aligned: Predicted, truth: Truth, mask: np.ndarray | None) -> dict[str, Any]:
        return confusion_digest(aligned, truth, mask)

    def charts(self, digest: Mapping[str, Any], *, classes: Sequence[str]) -> list[Chart]:
        return [confusion_chart(digest, classes)] if "confusion" in digest else []


def _row_log_losses(proba: FloatColumns, y: np.ndarray) -> np.ndarray:
    """-log of each row's probability of its true class, clipped to [eps, 1 - eps]."""
    eps = np.finfo(np.float64).eps
    picked = proba.pick(y)
    np.clip(picked, eps, 1 - eps, out=picked)
    np.log(picked, out=picked)
    return np.negative(picked, out=picked)


def _split_log_losses(losses: np.ndarray, is_public: np.ndarray) -> dict[str, float]:
    """The mean of ``losses`` (in the truth's order: the sums, and so the scores, are the
    same whatever the file's row order) over each split's rows, NaN for a split without
    rows: one ``bincount`` for both sums, no copy of either split's rows."""
    private, public = np.bincount(is_public, weights=losses, minlength=2)
    n_public = int(np.count_nonzero(is_public))
    sums = {
        "all": (private + public, losses.size),
        "public": (public, n_public),
        "private": (private, losses.size - n_public),
    }
    return {
        split: float(value / rows) if rows else float("nan")
        for split, (value, rows) in sums.items()
    }


def _metrics(cm: np.ndarray, log_loss: float | None) -> dict[str, float]:
    total = int(cm.sum())
    if total == 0:
        return {}
    tp = np.diag(cm).astype(np.float64)
    denominator = cm.sum(axis=0) + cm.sum(axis=1)
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    out = {"accuracy": float(tp.sum() / total), "macro_f1": float(np.mean(f1))}
    if log_loss is not None:
        out["log_loss"] = log_loss
    return out


def class_truth(labels: pa.ChunkedArray, classes: list[str]) -> np.ndarray:
    """Each solution label's index in ``classes``; ValueError for a label not among them."""
    y = index_of(labels, classes)
    if (y < 0).any():
        unknown = pc.unique(labels.filter(pa.array(y < 0))).to_pylist()[:5]
        raise ValueError(f"solution labels {unknown} are not in classes {classes}")
    return y


def sorted_distinct(labels: pa.Array | None) -> list[str]:
    """The distinct labels present, sorted."""
    if labels is None:
        return []
    return sorted(pc.unique(pc.drop_null(labels)).to_pylist())


def class_balance(labels: pa.Array) -> list[dict[str, Any]]:
    """``[{"class", "count", "share"}]`` of the labels, by class name."""
    pairs = pc.value_counts(labels.cast(pa.string())).flatten()
    counts = sorted(zip(pairs[0].to_pylist(), pairs[1].to_pylist(), strict=True))
    total = sum(n for _, n in counts)
    return [{"class": str(c), "count": int(n), "share": number(n / total)} for c, n in counts]


def class_codes(labels: pa.ChunkedArray, classes: list[str], example_ids: ExampleIds) -> np.ndarray:
    """Class index of every label, in the narrowest type that holds the classes'
    (``code_type``: int8 up to 127 classes); refuses empty and unknown labels."""
    if not (is_text(labels.type) or pa.types.is_integer(labels.type)):
        raise SubmissionInvalid(
            f"Column 'label' has type {labels.type}; expected class names (text) or integers."
        )
    codes = index_of(labels, classes, code_type(len(classes)))
    if codes.size and codes.min() < 0:  # one pass, no mask, when every label is a class
        bad = codes < 0
        text = as_string(labels)
        refuse_empty(empty(text), example_ids)
        offending = pc.unique(text.filter(pa.array(bad))).to_pylist()
        raise SubmissionInvalid(
            f"{has(int(bad.sum()), 'row')} a label that is not a class: "
            f"{some(offending)}, e.g. {example_ids(bad)}. "
            f"The classes are: {examples(classes, limit=30)}."
        )
    return codes


def proba_columns(
    table: pa.Table, classes: list[str], example_ids: ExampleIds
) -> FloatColumns | None:
    """The ``proba_<class>`` columns, checked (every value in [0, 1], each row's sum 1
    within ``SUM_TOLERANCE``) where Arrow holds them, or None if absent. Scoring reads
    them there, a block at a time (``kinds.columns``)."""
    names = [name for name in table.column_names if name.startswith(PROBA_PREFIX)]
    if not names:
        return None
    known = {PROBA_PREFIX + c for c in classes}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SubmissionInvalid(
            f"Probability columns must be proba_<class> for the task's classes; unknown: "
            f"{some(unknown)}. The classes are: {examples(classes, limit=30)}."
        )
    missing = [PROBA_PREFIX + c for c in classes if PROBA_PREFIX + c not in names]
    if missing:
        raise SubmissionInvalid(
            "Give probabilities for every class or for none; "
            f"{count(len(missing), 'column is', 'columns are')} missing: {some(missing)}."
        )
    ordered = [PROBA_PREFIX + c for c in classes]
    for name in ordered:
        number_column(table, name)
    columns = FloatColumns.of(table, ordered)
    if _probabilities_valid(columns):
        return columns
    _refuse_probabilities(columns.matrix(), example_ids)
    return columns  # not reached: one of the checks above failed


def _refuse_probabilities(by_class: np.ndarray, example_ids: ExampleIds) -> None:
    """Name the rows whose probabilities (k x n, the file's order) are not valid."""
    matrix = by_class.T
    sums = by_class.sum(axis=0)
    refuse_rows(np.isnan(matrix).any(axis=1), "an empty or NaN probability", example_ids)
    refuse_rows(
        ((matrix < 0) | (matrix > 1)).any(axis=1), "a probability outside [0, 1]", example_ids
    )
    off = np.abs(sums - 1) > SUM_TOLERANCE
    raise SubmissionInvalid(
        f"{has(int(off.sum()), 'row')} probabilities that do not sum to 1 "
        f"(within {SUM_TOLERANCE}), e.g. {example_ids(off)} "
        f"(sums {', '.join(f'{s:.6g}' for s in sums[off][:5])})."
    )


_CHECK_ROWS = 1 << 15  # rows per block: a block's values stay in the CPU's cache


def _probabilities_valid(columns: FloatColumns) -> bool:
    """Every probability in [0, 1] and each row's sum within ``SUM_TOLERANCE`` of 1 (NaN
    fails each test), checked a cache-sized block at a time (a large submission's record
    batches on two threads)."""

    def valid(part: slice) -> bool:
        for block in FloatColumns(columns.batches[part], 0, columns.width).blocks(_CHECK_ROWS):
            sums = block[0].copy()
            for values in block[1:]:
                sums += values
            if not (
                all(values.min() >= 0 and values.max() <= 1 for values in block)
                and (np.abs(sums - 1) <= SUM_TOLERANCE).all()
            ):
                return False
        return True

    n_batches = len(columns.batches)
    per_batch = columns.rows * columns.width // max(1, n_batches)
    return all(map_rows(valid, n_batches, per_row=per_batch))


# --- stress families (docs/organizers/stress.md; regression's too) ------------------------------
#
# Each is a pure function ``(rows, *, strength, rng, context) -> Perturbed`` over one family's
# rows; a row's label means the same after it (the row is the same thing, observed worse).


def stress_typos(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """Character typos in every text column (``kinds.textnoise.typos``)."""
    everyone = np.ones(rows.num_rows, dtype=bool)
    for name in of_types(context.columns, ("text",)):
        rows = edit_rows(
            rows, name, everyone, lambda v: textnoise.typos(v, strength=strength, rng=rng)
        )
    return Perturbed(rows)


def stress_missing_modality(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """One modality of each row blanked: all its text columns or all its image columns
    (drawn per row when it has both)."""
    modalities = [m for m in ("text", "image") if of_types(context.columns, (m,))]
    which = rng.integers(0, len(modalities), size=rows.num_rows)
    for j, modality in enumerate(modalities):
        for name in of_types(context.columns, (modality,)):
            rows = edit_rows(rows, name, which == j, textnoise.blank)
    return Perturbed(rows)


def _spread(name: str, context: StressContext, rows: pa.Table) -> float:
    """The column's standard deviation in train (in the rows when train has none)."""
    for table in (context.train, rows):
        if name in table.column_names:
            values = table[name].cast(pa.float64())
            spread = pc.stddev(values).as_py()
            if spread is not None and np.isfinite(spread) and spread > 0:
                return float(spread)
    return 1.0


def stress_numeric_noise(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """Gaussian noise on every numeric column, of ``strength`` x the column's standard
    deviation in train."""
    everyone = np.ones(rows.num_rows, dtype=bool)
    for name in of_types(context.columns, ("numeric",)):
        spread = _spread(name, context, rows)
        rows = edit_rows(
            rows,
            name,
            everyone,
            lambda v, spread=spread: textnoise.numeric_noise(
                v, strength=strength, rng=rng, spread=spread
            ),
        )
    return Perturbed(rows)


def stress_unseen_levels(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """Categorical values replaced by levels train never had: one column per row at least,
    each other categorical column at ``strength``."""
    names = of_types(context.columns, ("categorical",))
    n = rows.num_rows
    forced = rng.integers(0, len(names), size=n)
    for j, name in enumerate(names):
        seen = (
            pc.unique(context.train[name].cast(pa.string()))
            if name in context.train.column_names
            else pa.array([], pa.string())
        )
        mask = (forced == j) | (rng.random(n) < strength)
        rows = edit_rows(
            rows, name, mask, lambda v, seen=seen: textnoise.unseen_levels(v, rng=rng, seen=seen)
        )
    return Perturbed(rows)


def stress_shuffle_columns(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """Each row's values rotated among its columns of one type (a row whose columns arrived
    in another order)."""
    groups = type_groups([name for name, _ in context.columns], context.columns)
    return Perturbed(rotate_groups(rows, groups, np.ones(rows.num_rows, dtype=bool), rng))


def _needs(types: tuple[str, ...], what: str) -> Callable[[Columns], str | None]:
    def applies(columns: Columns) -> str | None:
        return None if of_types(columns, types) else f"it has no {what} column"

    return applies


def _modality(columns: Columns) -> str | None:
    blanked = of_types(columns, ("text", "image"))
    if not blanked:
        return "it has no text or image column to blank"
    if len(columns) == len(blanked) and len({t for _, t in columns}) == 1:
        return "every column is of one modality; blanking it leaves nothing to predict from"
    return None


def _group(columns: Columns) -> str | None:
    if type_groups([name for name, _ in columns], columns):
        return None
    return "no two of its columns have one type, so there is no other order to read them in"


STRESS_FAMILIES: dict[str, StressFamily] = {
    f.name: f
    for f in (
        StressFamily(
            "typos", "character typos in the text", stress_typos, _needs(("text",), "text")
        ),
        StressFamily(
            "missing_modality", "the text or the image blanked", stress_missing_modality, _modality
        ),
        StressFamily(
            "numeric_noise",
            "noise at a fraction of each number's spread",
            stress_numeric_noise,
            _needs(("numeric",), "numeric"),
            reads_train=True,
        ),
        StressFamily(
            "unseen_levels",
            "categories never seen in train",
            stress_unseen_levels,
            _needs(("categorical",), "categorical"),
            reads_train=True,
        ),
        StressFamily("shuffle_columns", "columns in another order", stress_shuffle_columns, _group),
    )
}


KIND = Classification()
