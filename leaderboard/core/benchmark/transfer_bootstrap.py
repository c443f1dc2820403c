"""The row noise of a transfer-matrix decomposition: the additive model refitted on each of
the caller's B row resamples (paired: the same rows for every algorithm on a task).

The refits share one system (the task weights are all 1), so the effects of all B resamples
are one matrix product (`fit_additive`), chunked to bound the memory
(`intervals.resample_chunks`). What they measure is the part of the interaction that row
noise alone puts there: ``noise_ss`` = the sum over the cells of the variance of the
interaction across the row resamples. The intervals of the effects do not come from here
(`linear_model`: the error of the two-way model already holds the row noise of every cell).
"""

from __future__ import annotations

import numpy as np

from leaderboard.core.benchmark.additive import fit_additive, interaction
from leaderboard.core.benchmark.intervals import resample_chunks


def row_noise_ss(
    *, resamples: np.ndarray, observed: np.ndarray, point_interaction: np.ndarray
) -> float:
    """Sum over the observed cells of the variance, across the (B, A, T) ``resamples``, of
    the interaction the additive model leaves (``point_interaction`` (A, T): the point
    fit's, subtracted for a stable variance)."""
    n_resamples = resamples.shape[0]
    total, squares = np.zeros(observed.shape), np.zeros(observed.shape)
    for part in resample_chunks(n_resamples=n_resamples, bytes_per_resample=observed.size * 64):
        values = resamples[part, None]
        fit = fit_additive(values=values, observed=observed)
        moved = interaction(values=values, fit=fit, observed=observed)[:, 0] - point_interaction
        total += moved.sum(axis=0)
        squares += (moved * moved).sum(axis=0)
    return max(float(np.sum(squares / n_resamples - (total / n_resamples) ** 2)), 0.0)
