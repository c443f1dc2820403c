"""Metrics per split: the task's kind computes them (``kinds``), OPIS is added here.

Each kind's module states its metrics and how they equal scikit-learn's definitions;
``opis`` (``scoring.core.opis``) is added where the kind says it applies (probabilities
or scores given; matching: and the task names a group column; None when no group
qualifies). A split without rows gets an empty dict.
"""

from __future__ import annotations

from common.parallel import run_all
from kinds import kind_get
from scoring.core.align import Aligned
from scoring.core.opis import UtilityCurves, utility_curves
from scoring.core.solution import Solution


def primary_metric(kind: str, metric: str | None = None) -> str:
    """The task's primary metric: ``metric`` (task.yaml's choice) or the kind's default."""
    return metric or kind_get(kind).primary


def metric_names(kind: str, has_proba_or_score: bool, *, has_groups: bool = False) -> list[str]:
    """The metric keys ``compute_metrics`` returns for a task of ``kind``.

    ``has_groups``: the matching task names an ``opis.group_column``.
    """
    return kind_get(kind).metric_names(scores_given=has_proba_or_score, opis_groups=has_groups)


def task_curves(aligned: Aligned, solution: Solution) -> dict[str, UtilityCurves] | None:
    """The OPIS utility curves per split on the calibration range (None: OPIS n/a)."""
    inputs = solution.task_kind.opis_inputs(aligned, solution)
    if inputs is None:
        return None
    if inputs.proba is None:
        return utility_curves(
            y=solution.y,
            is_public=solution.is_public,
            settings=solution.opis,
            score=inputs.score,
        )
    # The probabilities as read, the truth brought to their order (counts: any order).
    rows = inputs.proba
    return utility_curves(
        y=rows.truth_rows(solution.y),
        is_public=rows.truth_rows(solution.is_public),
        settings=solution.opis,
        proba=rows.columns,
        classes=inputs.classes,
    )


def compute_metrics(aligned: Aligned, solution: Solution) -> dict[str, dict[str, float]]:
    """``{"all"|"public"|"private": {metric: value}}`` for the task's kind."""
    return evaluate(aligned, solution)[0]


def evaluate(
    aligned: Aligned, solution: Solution
) -> tuple[dict[str, dict[str, float]], dict[str, UtilityCurves] | None]:
    """The metrics, and the OPIS curves they were computed from (kept for the page).

    OPIS is counted on a second thread while the kind's metrics are computed here (both
    read the arrays only): without probabilities or scores OPIS is nothing, and the kind's
    counts then take both threads (``common.parallel``: work on the pool runs on one)."""
    metrics, curves = run_all(
        [
            lambda: solution.task_kind.evaluate(aligned, solution),
            lambda: task_curves(aligned, solution),
        ]
    )
    if curves is not None:
        for split, one in curves.items():
            if metrics[split]:
                metrics[split]["opis"] = one.opis  # type: ignore[assignment]  # None: no group
    return metrics, curves
