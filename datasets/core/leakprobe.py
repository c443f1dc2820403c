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

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from common.numbered import TRAILING_DIGIT_BYTES
from kinds import TaskKind

MIN_ROWS = 200
MAX_ROWS = 50_000
FOLDS = 5
MODES = ("warn", "refuse", "off")


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
    """Per id: its trailing number (-1 without one), its prefix's code, its length."""
    text = ids.cast(pa.string()).to_pylist()
    numbers = np.full(len(text), -1.0)
    prefixes = []
    for i, value in enumerate(text):
        raw = (value or "").encode("utf-8", "replace")
        found = TRAILING_DIGIT_BYTES.search(raw)
        digits = raw[found.start() :] if found else b""
        if digits and len(digits) <= 15:
            numbers[i] = float(int(digits))
        prefixes.append(raw[: len(raw) - len(digits)])
    order = {p: k for k, p in enumerate(sorted(set(prefixes)))}
    codes = np.array([order[p] for p in prefixes], dtype=np.float64)
    lengths = np.asarray(pc.utf8_length(ids.cast(pa.string())).to_numpy(zero_copy_only=False))
    return np.column_stack([numbers, codes, np.nan_to_num(lengths.astype(np.float64), nan=0)])


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
