"""Precision-recall curve and average precision, equal to scikit-learn's (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class PRCurve:
    """As ``sklearn.metrics.precision_recall_curve``: len(thresholds) == len(precision) - 1."""

    precision: np.ndarray
    recall: np.ndarray
    thresholds: np.ndarray


def descending(score: np.ndarray) -> np.ndarray:
    """Row order by decreasing score; order inside ties does not change any result."""
    return np.argsort(score)[::-1]


def pr_curve(y: np.ndarray, score: np.ndarray, order: np.ndarray) -> PRCurve:
    """Precision-recall pairs for 0/1 truth ``y``; ``order`` sorts ``score`` descending."""
    score_sorted = score[order]
    positives = np.cumsum(y[order], dtype=np.float64)
    ends = np.r_[np.flatnonzero(np.diff(score_sorted)), score_sorted.size - 1]
    tps = positives[ends]
    fps = 1 + ends.astype(np.float64) - tps
    precision = tps / (tps + fps)
    recall = tps / tps[-1] if tps[-1] else np.ones_like(tps)
    return PRCurve(
        precision=np.r_[precision[::-1], 1.0],
        recall=np.r_[recall[::-1], 0.0],
        thresholds=score_sorted[ends][::-1],
    )


def average_precision(curve: PRCurve) -> float:
    """Step-wise area under the curve, as ``sklearn.metrics.average_precision_score``."""
    return float(max(0.0, -np.sum(np.diff(curve.recall) * curve.precision[:-1])))


def downsample(curve: PRCurve, max_points: int) -> PRCurve:
    """At most ``max_points`` points, evenly spread, keeping both ends."""
    n = curve.thresholds.size
    if n + 1 <= max_points:
        return curve
    keep = np.unique(np.linspace(0, n - 1, max(max_points - 1, 1)).round().astype(np.int64))
    return PRCurve(
        precision=np.r_[curve.precision[keep], curve.precision[-1]],
        recall=np.r_[curve.recall[keep], curve.recall[-1]],
        thresholds=curve.thresholds[keep],
    )
