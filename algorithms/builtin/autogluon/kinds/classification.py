"""The AutoGluon baseline for classification tasks: a class per row, with probabilities.

- **Classes.** task.json lists at least two; a train label not among them makes the task
  folder invalid, as does a train holding a single class.
- **The fit.** ``binary`` or ``multiclass`` (by the train's classes) on ``accuracy``.
- **Predictions.** ``id``, ``label`` and ``proba_<class>`` for every class in task.json's
  order: a class the model never saw gets 0, rows are renormalized to sum to 1 (uniform
  when the model gave no probability at all).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..data import TaskError
from . import BaselineKind, probabilities_checked


def classes(declared: tuple[str, ...]) -> tuple[str, ...]:
    if len(declared) < 2:
        raise TaskError("task.json needs at least two classes")
    return declared


def train_labels(labels: pd.Series) -> pd.Series:
    return labels.astype("string").astype(object)


def problem(spec: Any, labels: pd.Series) -> tuple[str, str]:
    n = labels.nunique()
    if n < 2:
        raise TaskError("train.parquet holds a single class")
    unknown = set(labels.unique()) - set(spec.classes)
    if unknown:
        raise TaskError(f"train labels not in task.json classes: {sorted(unknown)[:5]}")
    return ("binary" if n == 2 else "multiclass"), "accuracy"


def submission_frame(
    spec: Any, ids: pd.Series, labels: pd.Series, proba: pd.DataFrame
) -> pd.DataFrame:
    """``id``, ``label`` and ``proba_<class>`` per class of ``spec`` (see the docstring)."""
    by_name = {str(c): c for c in proba.columns}
    out = pd.DataFrame({"id": ids.astype("string").to_numpy()})
    matrix = np.column_stack(
        [
            proba[by_name[c]].to_numpy(dtype=np.float64) if c in by_name else np.zeros(len(out))
            for c in spec.classes
        ]
    )
    matrix = np.clip(np.nan_to_num(matrix, nan=0.0), 0.0, None)
    sums = matrix.sum(axis=1, keepdims=True)
    matrix = np.where(sums > 0, matrix / np.where(sums > 0, sums, 1.0), 1.0 / len(spec.classes))
    out["label"] = labels.astype(str).to_numpy()
    for j, cls in enumerate(spec.classes):
        out[f"proba_{cls}"] = matrix[:, j]
    return out


def predict(spec: Any, ids: pd.Series, predictor: Any, test_x: pd.DataFrame) -> pd.DataFrame:
    proba = predictor.predict_proba(test_x)
    predicted = predictor.predict(test_x)
    return probabilities_checked(submission_frame(spec, ids, predicted, proba))


KIND = BaselineKind(
    name="classification",
    classes=classes,
    train_labels=train_labels,
    problem=problem,
    predict=predict,
)
