"""Robustness figures of a stress run (docs/organizers/stress.md): per family, how a method's score
on the perturbed copies compares with its clean run's score on their originals.

Per split (``all``, ``public``, ``private``) and family, over the copies of that family
whose originals are in the split:

- ``score``: the primary metric of the stress run's predictions on the copies;
- ``clean``: the primary metric of the clean run's predictions on their originals (the same
  truth: the families preserve labels);
- ``ratio``: ``score / clean`` for a metric where higher is better, ``clean / score`` where
  lower is (so 1 is "as good as clean" and below 1 is worse, whatever the direction);
  None when the denominator is 0;
- ``flip_rate``: the share of copies whose prediction is not the clean prediction of its
  original (for regression: further from it than the task's tolerance; None for kinds
  whose predictions are names, such as grouping's clusters);
- ``rows``: the copies counted.

``mean_ratio`` is the mean of the families' ratios and ``worst_family`` the family with
the lowest. Labels-only: scores and probabilities are not compared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from common.splits import SPLITS
from kinds.base import TaskKind

DIGITS = 6


@dataclass(frozen=True)
class _Truth:
    y: np.ndarray
    is_public: np.ndarray
    classes: list[str]
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Predicted:
    pred: np.ndarray
    proba: None = None
    probabilities: None = None
    score: None = None


def _primary(
    kind: TaskKind, metric: str, y: np.ndarray, pred: np.ndarray, classes: list[str], options
) -> float | None:
    truth = _Truth(y=y, is_public=np.zeros(y.size, dtype=bool), classes=classes, options=options)
    value = kind.evaluate(_Predicted(pred=pred), truth).get("all", {}).get(metric)
    return None if value is None or not np.isfinite(value) else float(value)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), DIGITS)


def stress_figures(
    *,
    kind: TaskKind,
    metric: str,
    classes: Sequence[str],
    options: Mapping[str, Any],
    families: Sequence[str],
    family: np.ndarray,
    origin: np.ndarray,
    y: np.ndarray,
    is_public: np.ndarray,
    pred: np.ndarray,
    clean_pred: np.ndarray,
) -> dict[str, dict[str, Any]]:
    """``{split: {"families": {name: {score, clean, ratio, flip_rate, rows}}, "mean_ratio",
    "worst_family", "rows"}}`` (see the module). ``family``, ``origin``, ``y``,
    ``is_public`` and ``pred`` are per copy (the stress set's truth and the stress run's
    aligned predictions); ``clean_pred`` is the clean run's, per clean test row."""
    higher = kind.metric(metric).higher_is_better
    classes = list(classes)
    masks = {"all": np.ones(y.size, dtype=bool), "public": is_public, "private": ~is_public}
    out: dict[str, dict[str, Any]] = {}
    for split in SPLITS:
        per_family: dict[str, dict[str, Any]] = {}
        for code, name in enumerate(families):
            rows = masks[split] & (family == code)
            if not rows.any():
                continue
            before = clean_pred[origin[rows]]
            score = _primary(kind, metric, y[rows], pred[rows], classes, options)
            clean = _primary(kind, metric, y[rows], before, classes, options)
            top, bottom = (score, clean) if higher else (clean, score)
            ratio = top / bottom if top is not None and bottom else None
            flips = None
            if kind.flips:
                same = kind.rows_right(before, pred[rows], options)
                flips = float(1.0 - np.mean(same))
            per_family[name] = {
                "score": _round(score),
                "clean": _round(clean),
                "ratio": _round(ratio),
                "flip_rate": _round(flips),
                "rows": int(rows.sum()),
            }
        ratios = {n: f["ratio"] for n, f in per_family.items() if f["ratio"] is not None}
        out[split] = {
            "families": per_family,
            "mean_ratio": _round(float(np.mean(list(ratios.values())))) if ratios else None,
            "worst_family": min(ratios, key=lambda n: (ratios[n], n)) if ratios else None,
            "rows": int(masks[split].sum()),
        }
    return out
