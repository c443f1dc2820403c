"""The AutoGluon baseline for matching tasks: does a pair of records describe one entity?

- **Labels.** The integers 0 and 1, both present in train.
- **Features.** Pair features of every ``left_<column>``/``right_<column>`` pair
  (``features.pair_features``: rapidfuzz similarities, exact flags, numeric differences,
  image distances), the other columns as their declared type.
- **The fit.** ``binary`` on ``f1``, the boosted trees early-stopped on log loss
  (``fitting.fit``).
- **Predictions.** ``id``, ``label`` (0/1) and ``score``, the probability of a match in
  [0, 1].
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..data import TaskError
from . import BaselineKind, probabilities_checked


def classes(declared: tuple[str, ...]) -> tuple[str, ...]:
    return ("0", "1")


def train_labels(labels: pd.Series) -> pd.Series:
    try:
        return labels.astype("int64")
    except (TypeError, ValueError) as exc:
        raise TaskError("matching labels must be the integers 0 and 1") from exc


def problem(spec: Any, labels: pd.Series) -> tuple[str, str]:
    if set(labels.unique()) != {0, 1}:
        raise TaskError("matching train labels must contain both 0 and 1")
    return "binary", "f1"


def features(
    spec: Any, frame: pd.DataFrame, archive: Any, *, workers: int
) -> tuple[pd.DataFrame, list[str]]:
    """Pair features of the paired columns, the others as their declared type."""
    from .. import features as feats

    names = [name for name, _ in spec.columns]
    attrs = feats.pair_attributes(names, spec.types)
    paired = {c for a in attrs for c in (a.left, a.right)}
    pairs = feats.pair_features(frame, attrs, archive=archive, workers=workers)
    rest, text_cols = feats.typed_columns(
        frame, spec.types, [n for n in names if n not in paired], archive
    )
    return pd.concat([pairs, rest], axis=1), text_cols


def submission_frame(ids: pd.Series, labels: pd.Series, proba: pd.DataFrame) -> pd.DataFrame:
    """``id``, ``label`` and ``score``, the probability of class 1 (1 - that of class 0
    when the model names only class 0), clipped to [0, 1]."""
    by_name = {str(c): c for c in proba.columns}
    out = pd.DataFrame({"id": ids.astype("string").to_numpy()})
    score = proba[by_name["1"]].to_numpy(dtype=np.float64) if "1" in by_name else None
    if score is None:
        score = 1.0 - proba[by_name["0"]].to_numpy(dtype=np.float64)
    out["label"] = labels.astype("int64").to_numpy()
    out["score"] = np.clip(np.nan_to_num(score, nan=0.0), 0.0, 1.0)
    return out


def predict(spec: Any, ids: pd.Series, predictor: Any, test_x: pd.DataFrame) -> pd.DataFrame:
    proba = predictor.predict_proba(test_x)
    predicted = predictor.predict(test_x)
    return probabilities_checked(submission_frame(ids, predicted, proba))


KIND = BaselineKind(
    name="matching",
    classes=classes,
    train_labels=train_labels,
    problem=problem,
    predict=predict,
    features=features,
    stop_on_log_loss=True,
)
