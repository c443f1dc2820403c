"""The resamples of a transfer-matrix decomposition: the additive model refitted B times.

Resample b combines the caller's row resample b of every cell (paired: the same rows for
every algorithm on a task) with Bayesian-bootstrap task weights w[b] = T x Dirichlet(1, ..., 1)
from ``np.random.default_rng(seed)``. Three refits share them:

- rows only (weights 1): one system for every resample, so the effects of all B resamples are
  one matrix product (`fit_additive`), and so is the interaction's spread under row noise;
- rows and task weights: the mean, the algorithm effects and the home-advantage
  coefficients (whose indicator matrices are refitted with the same weights);
- task weights only, on the point deltas: the interaction share.

The weighted systems differ per resample and are solved as one batch per chunk of resamples
(`intervals.resample_chunks` bounds the memory).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leaderboard.core.benchmark.additive import fit_additive, interaction
from leaderboard.core.benchmark.home import home_coefficients
from leaderboard.core.benchmark.intervals import resample_chunks


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TransferSamples:
    """Per-resample statistics of the fitted group of cells (B resamples, A algorithms,
    T tasks, K home-advantage teams). The task-weighted ones are None with one task."""

    row_mean: np.ndarray  # (B,) rows only
    row_algorithm: np.ndarray  # (B, A)
    row_task: np.ndarray  # (B, T)
    noise_ss: float  # sum over cells of the interaction's variance across row resamples
    mean: np.ndarray | None  # (B,) rows and task weights
    algorithm: np.ndarray | None  # (B, A)
    home: np.ndarray | None  # (B, K)
    share: np.ndarray | None  # (B,) task weights only


def dirichlet_task_weights(*, n_resamples: int, n_tasks: int, seed: int) -> np.ndarray:
    """(B, T) Bayesian-bootstrap task weights with mean 1 (T x Dirichlet(1, ..., 1))."""
    gaps = np.random.default_rng(seed).standard_exponential((n_resamples, n_tasks))
    weights = n_tasks * gaps / gaps.sum(axis=1, keepdims=True)
    return np.maximum(weights, 1e-12)  # an exact 0 (never seen) would disconnect the design


def _row_refits(
    *, resamples: np.ndarray, observed: np.ndarray, point_interaction: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Mean, algorithm and task effects per row resample, and the interaction's noise SS."""
    n_resamples = resamples.shape[0]
    mean = np.empty(n_resamples)
    algorithm = np.empty((n_resamples, observed.shape[0]))
    task = np.empty((n_resamples, observed.shape[1]))
    total, squares = np.zeros(observed.shape), np.zeros(observed.shape)
    for part in resample_chunks(n_resamples=n_resamples, bytes_per_resample=observed.size * 64):
        values = resamples[part, None]
        fit = fit_additive(values=values, observed=observed)
        mean[part], algorithm[part] = fit.mean[:, 0], fit.algorithm[:, 0]
        task[part] = fit.task[:, 0]
        residual = interaction(values=values, fit=fit, observed=observed)[:, 0]
        moved = residual - point_interaction  # shifted: a stable variance
        total += moved.sum(axis=0)
        squares += (moved * moved).sum(axis=0)
    noise_ss = float(np.sum(squares / n_resamples - (total / n_resamples) ** 2))
    return mean, algorithm, task, max(noise_ss, 0.0)


def transfer_samples(
    *,
    point: np.ndarray,
    resamples: np.ndarray,
    observed: np.ndarray,
    home: np.ndarray,
    point_interaction: np.ndarray,
    seed: int,
) -> TransferSamples:
    """Refit the fitted group's ``point`` (A, T) deltas on every resample.

    ``resamples`` is (B, A, T), ``home`` the (K, A, T) indicators of the teams whose home
    advantage is estimated (`home.home_plan`), ``point_interaction`` the point fit's
    interaction (A, T).
    """
    row_mean, row_algorithm, row_task, noise_ss = _row_refits(
        resamples=resamples, observed=observed, point_interaction=point_interaction
    )
    n_resamples, n_tasks = resamples.shape[0], observed.shape[1]
    if n_tasks < 2:
        return TransferSamples(
            row_mean=row_mean,
            row_algorithm=row_algorithm,
            row_task=row_task,
            noise_ss=noise_ss,
            mean=None,
            algorithm=None,
            home=None,
            share=None,
        )

    weights = dirichlet_task_weights(n_resamples=n_resamples, n_tasks=n_tasks, seed=seed)
    mask = observed.astype(np.float64)
    mean = np.empty(n_resamples)
    algorithm = np.empty_like(row_algorithm)
    home_samples = np.empty((n_resamples, home.shape[0]))
    share = np.empty(n_resamples)
    fixed = np.concatenate([point[None], home])  # the point deltas, then the home indicators
    per_resample = observed.size * 8 * 8 + home.shape[0] * (observed.shape[0] + n_tasks) * 32
    for part in resample_chunks(n_resamples=n_resamples, bytes_per_resample=per_resample):
        w = weights[part]
        rows = resamples[part, None]
        fit = fit_additive(values=rows, observed=observed, weights=w)
        mean[part], algorithm[part] = fit.mean[:, 0], fit.algorithm[:, 0]
        shared = fit_additive(values=fixed, observed=observed, weights=w)
        if home.shape[0]:
            home_samples[part] = home_coefficients(
                indicators=home,
                weights=w,
                interaction=interaction(values=rows, fit=fit, observed=observed)[:, 0],
                indicator_fit=shared.select(slice(1, None)),
            )
        # The interaction share of the point deltas under the task weights alone (the caller
        # reads none when the deltas have no spread, which divides by 0 here).
        residual = interaction(
            values=point[None], fit=shared.select(slice(0, 1)), observed=observed
        )
        cell_weights = w[:, None, :] * mask  # (c, A, T)
        level = (cell_weights * point).sum(axis=(-2, -1)) / cell_weights.sum(axis=(-2, -1))
        spread = (cell_weights * (point - level[:, None, None]) ** 2).sum(axis=(-2, -1))
        with np.errstate(divide="ignore", invalid="ignore"):
            share[part] = (cell_weights * residual[:, 0] ** 2).sum(axis=(-2, -1)) / spread
    return TransferSamples(
        row_mean=row_mean,
        row_algorithm=row_algorithm,
        row_task=row_task,
        noise_ss=noise_ss,
        mean=mean,
        algorithm=algorithm,
        home=home_samples,
        share=share,
    )
