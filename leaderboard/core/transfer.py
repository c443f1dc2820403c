"""A transfer-matrix cell: how much better an algorithm scores on a task than the baseline,
with a paired bootstrap interval of that difference (the same resamples as the
leaderboard's intervals). "Better" follows the metric's direction: for a lower-is-better
metric (RMSE) the gain is baseline - score, so a positive delta always means better."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leaderboard.core.bootstrap import bootstrap_leaderboard


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferCell:
    score: float
    baseline: float
    delta: float  # sign * (score - baseline); positive: better than the baseline
    delta_low: float  # the 95% interval of the paired difference
    delta_high: float
    # (B,) the delta on each row resample (the same rows for every algorithm on the task:
    # the seed and rows fix them), for the decomposition's intervals
    # (docs/architecture.md §12)
    resamples: np.ndarray | None = None
    # The delta is the same on every row resample: the bootstrap cannot measure its noise
    # (kept beside the summary, so the matrix knows it without reading the resamples).
    flat: bool = False


def transfer_cell(
    *,
    y: np.ndarray,
    pred: np.ndarray,
    baseline_pred: np.ndarray,
    kind: str,
    metric: str | None = None,
    rows: np.ndarray | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> TransferCell:
    """Score ``pred`` and ``baseline_pred`` (aligned to ``y``) on ``rows`` by ``metric``
    (default: the kind's primary) and bootstrap the difference: the baseline entry's
    ``diff`` against the algorithm is the interval of sign * (score(algorithm) -
    score(baseline)) over the same resamples."""
    result = bootstrap_leaderboard(
        y=y,
        preds=[pred, baseline_pred],
        kind=kind,
        metric=metric,
        n_resamples=n_resamples,
        seed=seed,
        alpha=alpha,
        rows=rows,
        is_baseline=[False, True],
        keep_samples=True,
    )
    algorithm, baseline = result.entries
    sign = 1.0 if result.higher_is_better else -1.0
    samples = result.samples
    resamples = None if samples is None else sign * (samples[:, 0] - samples[:, 1])
    return TransferCell(
        score=algorithm.score,
        baseline=baseline.score,
        delta=sign * (algorithm.score - baseline.score),
        delta_low=float(baseline.diff_low),
        delta_high=float(baseline.diff_high),
        resamples=resamples,
        flat=resamples is not None and bool(resamples.size) and float(np.ptp(resamples)) == 0,
    )
