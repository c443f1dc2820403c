"""One module per task kind: what the baseline does differently for each kind, by name.

A kind is the module ``kinds/<name>.py`` (``name`` as task.json spells it) defining
``KIND``, a :class:`BaselineKind`. Adding a kind is adding its module (and its tests): the
runner finds it by task.json's ``kind``, and the platform, which may not import this
folder, reads the module names here to know which kinds the baseline fits.

Most kinds fit one row per test row (:func:`runner.fit_and_predict` asks the kind for its
classes, labels, problem, features and submission); a kind that predicts otherwise (a
grouping clusters the whole test at once) gives its own ``run`` instead.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import Any

import numpy as np
import pandas as pd

from ..data import TaskError, by_value


def _typed_columns(
    spec: Any, frame: pd.DataFrame, archive: Any, *, workers: int
) -> tuple[pd.DataFrame, list[str]]:
    """Every feature column as its declared type (the default ``features``)."""
    from ..features import typed_columns

    return typed_columns(frame, spec.types, [name for name, _ in spec.columns], archive)


@dataclass(frozen=True)
class BaselineKind:
    """How the baseline fits and predicts one task kind."""

    name: str
    # The classes the model predicts, from task.json's list (TaskError when unfit).
    classes: Callable[[tuple[str, ...]], tuple[str, ...]]
    # The whole fit and predict, for a kind that does not predict row by row:
    # ``run(args, result, spec, *, fit)``, ``fit`` being the runner's AutoGluon fit.
    run: Callable[..., None] | None = None
    # Row by row: the train labels to fit on (TaskError/TaskFileError when unfit)...
    train_labels: Callable[[pd.Series], pd.Series] | None = None
    # ...AutoGluon's ``(problem_type, eval_metric)`` for ``(spec, labels)``...
    problem: Callable[[Any, pd.Series], tuple[str, str]] | None = None
    # ...the submission of a batch: ``predict(spec, ids, predictor, test_x)``...
    predict: Callable[[Any, pd.Series, Any, pd.DataFrame], pd.DataFrame] | None = None
    # ...the model inputs of a frame: ``features(spec, frame, archive, *, workers)``...
    features: Callable[..., tuple[pd.DataFrame, list[str]]] = _typed_columns
    # ...and the strata of the labels for the train sample.
    strata: Callable[[np.ndarray], np.ndarray] = by_value
    # Early-stop the boosted trees on log loss (a binary F1 task: see fitting.fit).
    stop_on_log_loss: bool = False

    def __post_init__(self) -> None:
        row_by_row = (self.train_labels, self.problem, self.predict)
        if self.run is None and None in row_by_row:
            raise TypeError(f"kind {self.name}: give run, or train_labels, problem and predict")


@cache
def kind_names() -> tuple[str, ...]:
    """Every kind the baseline fits: the modules of this package, by name."""
    modules = pkgutil.iter_modules(__path__)
    return tuple(sorted(m.name for m in modules if not m.name.startswith("_")))


def kind_named(name: str) -> BaselineKind:
    """The kind ``name``; :class:`TaskError` when no module of this package is called so."""
    if name not in kind_names():
        raise TaskError(f"task.json kind must be one of {', '.join(kind_names())}, not {name!r}")
    kind = import_module(f"{__name__}.{name}").KIND
    if kind.name != name:
        raise TypeError(f"kinds/{name}.py defines the kind {kind.name!r}")
    return kind


def probabilities_checked(submission: pd.DataFrame) -> pd.DataFrame:
    """``submission`` when every number but ``id`` and ``label`` is finite; else RuntimeError
    (a model that predicts no probability must fail the run, not submit)."""
    numbers = submission.drop(columns=["id", "label"]).to_numpy(dtype=np.float64)
    if not np.isfinite(numbers).all():
        raise RuntimeError("predictions hold non-finite probabilities")
    return submission
