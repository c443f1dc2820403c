"""The AutoGluon baseline for regression tasks: a number per row.

- **Labels.** The train ``label`` is read as float64. A label that is not a finite number,
  or a train whose labels take fewer than two different values, makes the task folder
  invalid (exit 2 with the reason), as the platform's own import would have refused it.
- **The fit.** ``problem_type="regression"`` with ``eval_metric="root_mean_squared_error"``,
  the task's primary metric (RMSE, lower is better). ``result.json``'s ``validation_score``
  is AutoGluon's: the validation RMSE negated (AutoGluon's scores are higher-is-better).
- **The train sample.** A train larger than ``--max-train-rows`` is sampled stratified by
  the label's deciles (:func:`strata`): each tenth of the label's range keeps its share of
  the rows. Stratifying by value, as for classes, would make every distinct float a
  stratum of its own and keep the rare extremes whole at the cost of the sample's size.
- **Predictions.** ``predictions.parquet`` holds ``id`` and a float64 ``label`` per test
  row, in the test's order; a model that predicts a value that is not finite fails the run
  instead of submitting it.

The platform's regression kind (the repository's top-level ``kinds/regression.py``) splits
the test rows by the same deciles; this folder may not import it (inside the sandbox only
this folder and the locked environment exist), so :func:`strata` restates the four lines
it needs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..data import TaskFileError
from . import BaselineKind

PROBLEM_TYPE = "regression"
EVAL_METRIC = "root_mean_squared_error"
STRATA = 10  # deciles


def _floats(labels: np.ndarray | pd.Series) -> np.ndarray:
    """``labels`` as float64; :class:`TaskFileError` for a value that is no finite number."""
    values = pd.to_numeric(pd.Series(labels, copy=False), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    bad = ~np.isfinite(values)
    if bad.any():
        raise TaskFileError(
            f"train.parquet: regression labels must be finite numbers; {int(bad.sum())} of"
            f" {len(values)} rows are not"
        )
    return values


def train_labels(labels: pd.Series) -> pd.Series:
    """The train labels to fit on: float64, finite, at least two different values."""
    values = _floats(labels)
    if np.unique(values).size < 2:
        raise TaskFileError("train.parquet: regression needs at least 2 different label values")
    return pd.Series(values, index=labels.index, name=labels.name)


def strata(labels: np.ndarray) -> np.ndarray:
    """The decile (0..9) of each label, the strata of the train sample; fewer strata when
    the label has fewer distinct quantiles (many equal values)."""
    values = _floats(labels)
    edges = np.unique(np.quantile(values, np.linspace(0, 1, STRATA + 1)[1:-1]))
    return np.searchsorted(edges, values, side="right").astype(np.int64)


def submission_frame(ids: pd.Series, predicted: pd.Series | np.ndarray) -> pd.DataFrame:
    """``id`` and a float64 ``label`` per row; RuntimeError when a prediction is not finite."""
    values = np.asarray(predicted, dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise RuntimeError(f"the model predicted {int(bad.sum())} values that are not finite")
    return pd.DataFrame({"id": ids.astype("string").to_numpy(), "label": values})


def classes(declared: tuple[str, ...]) -> tuple[str, ...]:
    return ()  # a number per row: task.json's class list is not asked


def problem(spec: Any, labels: pd.Series) -> tuple[str, str]:
    """The labels were checked by :func:`train_labels`."""
    return PROBLEM_TYPE, EVAL_METRIC


def predict(spec: Any, ids: pd.Series, predictor: Any, test_x: pd.DataFrame) -> pd.DataFrame:
    return submission_frame(ids, predictor.predict(test_x))  # no probabilities


KIND = BaselineKind(
    name="regression",
    classes=classes,
    train_labels=train_labels,
    problem=problem,
    predict=predict,
    strata=strata,
)
