"""The leak probe of the import (docs/organizers/stress.md): do the ids or the row order alone
predict the labels?

Ids that leak the label are a classic benchmark bug: rows numbered after sorting by class,
ids carrying the class (``bird_0012``), a file with every match first. The probe asks a
small model to predict train's labels from nothing but each row's id and position:

- features: the row's position, the id's trailing number, the code of its text before that
  number (its "prefix", in sorted order) and its length;
- model: a scikit-learn decision tree (depth 6, at least ``max(20, n / 100)`` rows per
  leaf, so it cannot learn a pattern of a few rows), 5-fold cross-validated on shuffled
  folds, on at most ``MAX_ROWS`` rows drawn at random;
- baseline: the trivial one, scored the same way (the majority class's accuracy; an R² of
  0 for numbers).

A leak is an accuracy above the majority's by more than ``max(0.05, 3 x its binomial
standard error)`` (R²: above ``max(0.05, 3 / sqrt(n))``). Too few rows (under
``MIN_ROWS``) or kinds whose labels are names of entities (grouping: records of an entity
often sit together on purpose) are not probed. The import warns or refuses by the
organizer's choice (``TASK_LEAK_PROBE``, ``task.yaml``'s ``leak_probe``,
``import_task --leak-probe``).
"""

from __future__ import annotations

import contextlib
import math
import threading
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kinds import TaskKind

MIN_ROWS = 200
MAX_ROWS = 50_000
FOLDS = 5
MODES = ("warn", "refuse", "off")
# An id's prefix and its trailing ASCII digits (``common.numbered.TRAILING_DIGIT_BYTES``).
TRAILING_DIGITS = r"(?s)^(?P<prefix>.*?)(?P<digits>[0-9]*)$"


@dataclass(frozen=True)
class LeakFound:
    """What the probe found: the model's cross-validated score and the trivial one's."""

    metric: str
    score: float
    trivial: float
    rows: int

    def message(self, file_name: str) -> str:
        baseline = "the majority class" if self.metric == "accuracy" else "the mean"
        return (
            f"{file_name}: the ids or the row order alone predict 'label' (a decision tree on"
            f" the id's number, prefix and length and the row's position, {FOLDS}-fold"
            f" cross-validated on {self.rows:,} rows: {self.metric} {self.score:.3f} against"
            f" {self.trivial:.3f} for {baseline}); if the test ids were assigned the same way"
            " they give the labels away. Shuffle the rows and use random ids, or set"
            " leak_probe: off in task.yaml if this is intended"
        )


def _id_features(ids: pa.Array) -> np.ndarray:
    """Per id: its trailing number (-1 without one, or with more than 15 digits), its
    prefix's code (the rank of the text before that number among the sorted distinct
    prefixes, in UTF-8 byte order), its length in characters (0 for a missing id); with
    Arrow's kernels on the sample, no Python value per id."""
    text = pc.fill_null(ids.cast(pa.string()), "")
    parts = pc.extract_regex(text, TRAILING_DIGITS).flatten()
    prefixes, digits = parts[0], parts[1]
    short = pc.and_(
        pc.greater(pc.binary_length(digits), 0), pc.less_equal(pc.binary_length(digits), 15)
    )
    numbers = pc.if_else(short, pc.cast(pc.if_else(short, digits, "0"), pa.float64()), -1.0)
    encoded = pc.dictionary_encode(prefixes)
    rank = np.empty(len(encoded.dictionary), dtype=np.float64)
    rank[pc.array_sort_indices(encoded.dictionary).to_numpy()] = np.arange(len(rank))
    codes = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    lengths = pc.utf8_length(ids.cast(pa.string())).to_numpy(zero_copy_only=False)
    return np.column_stack(
        [
            np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.float64),
            codes,
            np.nan_to_num(np.asarray(lengths, dtype=np.float64), nan=0),
        ]
    )


def prepare_model() -> None:
    """Import the probe's model (scikit-learn: about a CPU-second) on a thread of its own,
    while the bundle is read; :func:`leak_probe` then finds it imported, or waits for the
    import under way (the interpreter's import lock). An import that fails there fails
    again, with its error, where the probe imports it."""
    threading.Thread(target=_import_model, name="leak-probe-import", daemon=True).start()


def _import_model() -> None:
    with contextlib.suppress(Exception):
        import sklearn.model_selection
        import sklearn.tree  # noqa: F401


def leak_probe(
    *, kind: TaskKind, ids: pa.Array, labels: pa.Array, seed: int = 0
) -> LeakFound | None:
    """A :class:`LeakFound` when the ids or the row order predict ``labels`` (train's, in
    file order) better than the trivial baseline; None otherwise (see the module)."""
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    target = kind.leak_probe
    n = len(ids)
    if target is None or n < MIN_ROWS:
        return None
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=min(n, MAX_ROWS), replace=False))
    taken = pa.array(rows)
    features = np.column_stack([rows.astype(np.float64), _id_features(ids.take(taken))])
    picked = labels.take(taken)
    if picked.null_count:  # the import checks labels first; a caller that did not gets None
        return None
    leaf = max(20, len(rows) // 100)
    folds = KFold(FOLDS, shuffle=True, random_state=seed)
    if target == "number":
        y = np.asarray(picked.cast(pa.float64()).to_numpy(zero_copy_only=False))
        if not np.isfinite(y).all() or np.std(y) == 0:
            return None
        model = DecisionTreeRegressor(max_depth=6, min_samples_leaf=leaf, random_state=seed)
        score = float(np.mean(cross_val_score(model, features, y, cv=folds, scoring="r2")))
        if score > max(0.05, 3 / math.sqrt(len(rows))):
            return LeakFound("R²", score, 0.0, len(rows))
        return None
    y = np.asarray(pc.dictionary_encode(picked.cast(pa.string())).indices.to_numpy(False))
    counts = np.bincount(y)
    trivial = float(counts.max() / counts.sum())
    if trivial >= 1.0 or counts.size > len(rows) // 2:  # one class, or labels like names
        return None
    model = DecisionTreeClassifier(max_depth=6, min_samples_leaf=leaf, random_state=seed)
    score = float(np.mean(cross_val_score(model, features, y, cv=folds, scoring="accuracy")))
    margin = max(0.05, 3 * math.sqrt(trivial * (1 - trivial) / len(rows)))
    if score > trivial + margin:
        return LeakFound("accuracy", score, trivial, len(rows))
    return None
