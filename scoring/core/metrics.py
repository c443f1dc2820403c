"""Metrics per split, equal to scikit-learn's definitions, in a few numpy passes.

classification: accuracy_score, f1_score(average="macro", labels=all classes,
zero_division=0), log_loss(labels=all classes) when probabilities are given (clipped to
[eps, 1 - eps], eps of float64, not renormalized: scikit-learn 1.9).
matching: f1/precision/recall of class 1 (zero_division=0), average_precision_score when
scores are given. Both: ``opis`` (``scoring.core.opis``) when scores are given (matching:
and the task names a group column; None when no group qualifies).
grouping: pairwise and B-cubed metrics (``scoring.core.grouping``).
A split without rows gets an empty dict.
"""

from __future__ import annotations

import numpy as np

from scoring.core.align import Aligned
from scoring.core.curves import PRCurve, average_precision, descending, downsample, pr_curve
from scoring.core.grouping import METRICS as GROUPING_METRICS
from scoring.core.grouping import grouping_metrics_by_split
from scoring.core.opis import UtilityCurves, utility_curves
from scoring.core.solution import Solution

PRIMARY_METRIC = {"classification": "accuracy", "matching": "f1", "grouping": "pairwise_f1"}
SPLITS = ("all", "public", "private")


def metric_names(kind: str, has_proba_or_score: bool, *, has_groups: bool = False) -> list[str]:
    """The metric keys ``compute_metrics`` returns for a task of ``kind``.

    ``has_groups``: the matching task names an ``opis.group_column``.
    """
    if kind == "grouping":
        return list(GROUPING_METRICS)
    if kind == "classification":
        return ["accuracy", "macro_f1"] + (["log_loss", "opis"] if has_proba_or_score else [])
    extra = ["average_precision"] if has_proba_or_score else []
    return ["f1", "precision", "recall"] + extra + (["opis"] if extra and has_groups else [])


def split_masks(solution: Solution) -> dict[str, np.ndarray | None]:
    """Row mask of each split; None means every row."""
    return {"all": None, "public": solution.is_public, "private": ~solution.is_public}


def confusion_matrix(
    aligned: Aligned, solution: Solution, mask: np.ndarray | None = None
) -> np.ndarray:
    """k x k counts, rows = true class, columns = predicted class (as scikit-learn)."""
    y, pred = solution.y, aligned.pred
    if mask is not None:
        y, pred = y[mask], pred[mask]
    k = solution.n_classes
    cells = y.astype(np.int64) * k + pred
    return np.bincount(cells, minlength=k * k).reshape(k, k)


def precision_recall_curve_points(
    aligned: Aligned, solution: Solution, mask: np.ndarray | None = None, *, max_points: int = 200
) -> PRCurve:
    """scikit-learn's precision_recall_curve for matching scores, at most ``max_points``."""
    if aligned.score is None:
        raise ValueError("the submission has no scores")
    y, score = solution.y, aligned.score
    if mask is not None:
        y, score = y[mask], score[mask]
    return downsample(pr_curve(y, score, descending(score)), max_points)


def task_curves(aligned: Aligned, solution: Solution) -> dict[str, UtilityCurves] | None:
    """The OPIS utility curves per split on the calibration range (None: OPIS n/a)."""
    if solution.kind == "grouping":
        return None
    return utility_curves(
        y=solution.y,
        is_public=solution.is_public,
        settings=solution.opis,
        proba=aligned.proba,
        score=aligned.score if solution.kind == "matching" else None,
        classes=list(solution.classes) if solution.kind == "classification" else None,
    )


def compute_metrics(aligned: Aligned, solution: Solution) -> dict[str, dict[str, float]]:
    """``{"all"|"public"|"private": {metric: value}}`` for the task's kind."""
    return evaluate(aligned, solution)[0]


def evaluate(
    aligned: Aligned, solution: Solution
) -> tuple[dict[str, dict[str, float]], dict[str, UtilityCurves] | None]:
    """The metrics, and the OPIS curves they were computed from (kept for the page)."""
    if solution.kind == "grouping":
        return grouping_metrics_by_split(solution.y, aligned.pred, solution.is_public), None
    metrics = _label_metrics(aligned, solution)
    curves = task_curves(aligned, solution)
    if curves is not None:
        for split, one in curves.items():
            if metrics[split]:
                metrics[split]["opis"] = one.opis  # type: ignore[assignment]  # None: no group
    return metrics, curves


def _label_metrics(aligned: Aligned, solution: Solution) -> dict[str, dict[str, float]]:
    k = solution.n_classes
    cells = (solution.is_public.astype(np.int64) * k + solution.y) * k + aligned.pred
    by_split = np.bincount(cells, minlength=2 * k * k).reshape(2, k, k)
    confusions = {"all": by_split.sum(axis=0), "public": by_split[1], "private": by_split[0]}
    masks = split_masks(solution)
    if solution.kind == "classification":
        losses = None if aligned.proba is None else _row_log_losses(aligned.proba, solution.y)
        return {
            split: _classification(confusions[split], _subset(losses, masks[split]))
            for split in SPLITS
        }
    order = None if aligned.score is None else descending(aligned.score)
    return {
        split: _matching(confusions[split], aligned, solution, order, masks[split])
        for split in SPLITS
    }


def _subset(values: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray | None:
    return values if values is None or mask is None else values[mask]


def _row_log_losses(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    eps = np.finfo(np.float64).eps
    return -np.log(np.clip(proba[np.arange(y.size), y], eps, 1 - eps))


def _classification(cm: np.ndarray, losses: np.ndarray | None) -> dict[str, float]:
    total = int(cm.sum())
    if total == 0:
        return {}
    tp = np.diag(cm).astype(np.float64)
    denominator = cm.sum(axis=0) + cm.sum(axis=1)
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    out = {"accuracy": float(tp.sum() / total), "macro_f1": float(np.mean(f1))}
    if losses is not None:
        out["log_loss"] = float(np.mean(losses))
    return out


def _matching(
    cm: np.ndarray,
    aligned: Aligned,
    solution: Solution,
    order: np.ndarray | None,
    mask: np.ndarray | None,
) -> dict[str, float]:
    if cm.sum() == 0:
        return {}
    tp, fp, fn = (float(cm[1, 1]), float(cm[0, 1]), float(cm[1, 0]))
    out = {
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
    }
    if aligned.score is not None and order is not None:
        if mask is not None:
            order = order[mask[order]]
        out["average_precision"] = average_precision(pr_curve(solution.y, aligned.score, order))
    return out
