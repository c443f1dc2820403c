"""The two-way linear model of a table of cells, fitted by statsmodels' OLS, with t intervals.

Over the observed cells (r, c) of a rows x columns table (algorithms x tasks, or teams x
tasks):

    y[r, c] = mean + row[r] + column[c] + error[r, c]

with sum-to-zero effects (``sum_r row[r] = 0``, ``sum_c column[c] = 0``: deviation, or
"Sum", coding), the errors independent with one variance sigma^2 (the interaction and the
row noise of the cells together). Each effect is a linear contrast of the coefficients, its
1 - alpha interval ``estimate +- t(1 - alpha/2, df) * se`` with ``df`` = cells - rows -
columns + 1 the residual degrees of freedom (``RegressionResults.t_test``). Extra columns
(a home-advantage indicator per team) enter the same fit, each taking one degree of freedom.

Declined (no interval, a reason instead) when the residual degrees of freedom are below
``MIN_RESIDUAL_DF`` (sigma^2 then rests on one number or none) or the model fits every cell
exactly (nothing left to measure sigma^2 by).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# statsmodels and scipy.stats are imported in the functions that use them: the platform's
# receivers and tasks import this module, and the two cost every process's start 0.8 s.
MIN_RESIDUAL_DF = 2
EXACT_FIT = 1e-24  # residual SS per cell, in units of the largest |y|: no variance left

Interval = tuple[float, float]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Contrasts:
    """Estimates, standard errors and 1 - alpha t intervals of some contrasts of a fit; the
    intervals are None with ``reason`` when the fit cannot support them."""

    estimate: np.ndarray  # (m,)
    se: np.ndarray | None  # (m,)
    low: np.ndarray | None
    high: np.ndarray | None
    residual_df: int
    residual_ss: float
    reason: str | None

    def interval(self, i: int) -> Interval | None:
        if self.low is None or self.high is None:
            return None
        return (float(self.low[i]), float(self.high[i]))


def sum_coding(levels: np.ndarray, n_levels: int) -> np.ndarray:
    """(cells, n_levels - 1) deviation coding: level i < n - 1 is the unit column i, the last
    level is -1 in every column, so the n effects sum to 0 (``effects = coding_matrix(n) @
    coefficients``)."""
    coded = np.zeros((levels.size, max(0, n_levels - 1)))
    inner = levels < n_levels - 1
    coded[np.flatnonzero(inner), levels[inner]] = 1.0
    coded[~inner] = -1.0
    return coded


def coding_matrix(n_levels: int) -> np.ndarray:
    """(n, n - 1): every level's effect from the n - 1 coefficients of `sum_coding`."""
    if n_levels == 1:
        return np.zeros((1, 0))
    return np.vstack([np.eye(n_levels - 1), -np.ones((1, n_levels - 1))])


def two_way_design(observed: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
    """The design of the observed cells (row-major order, as ``np.nonzero``): intercept,
    sum-coded rows, sum-coded columns, then ``extra`` (K, R, C) indicator matrices."""
    rows, columns = np.nonzero(observed)
    n_rows, n_columns = observed.shape
    parts = [np.ones((rows.size, 1)), sum_coding(rows, n_rows), sum_coding(columns, n_columns)]
    if extra is not None and extra.shape[0]:
        parts.append(extra[:, rows, columns].T)
    return np.hstack(parts)


def effect_contrasts(n_rows: int, n_columns: int, n_extra: int = 0) -> np.ndarray:
    """(1 + R + C + K, p) contrasts of the coefficients giving the mean, every row effect,
    every column effect and every extra coefficient."""
    p = n_rows + n_columns - 1 + n_extra
    out = np.zeros((1 + n_rows + n_columns + n_extra, p))
    out[0, 0] = 1.0
    out[1 : 1 + n_rows, 1:n_rows] = coding_matrix(n_rows)
    out[1 + n_rows : 1 + n_rows + n_columns, n_rows : n_rows + n_columns - 1] = coding_matrix(
        n_columns
    )
    out[1 + n_rows + n_columns :, n_rows + n_columns - 1 :] = np.eye(n_extra)
    return out


def ols_contrasts(
    *, y: np.ndarray, design: np.ndarray, contrasts: np.ndarray, alpha: float, what: str
) -> tuple[Contrasts, np.ndarray]:
    """Fit ``y`` on ``design`` (full column rank) and estimate ``contrasts``; also the
    residuals. ``what`` names the model in the reasons ("the two-way model")."""
    import statsmodels.api as sm

    fit = sm.OLS(y, design).fit()
    residual = np.asarray(fit.resid)
    df = round(float(fit.df_resid))
    rss = float(np.sum(residual**2))
    scale = float(np.max(np.abs(y))) or 1.0
    estimate = np.asarray(contrasts @ fit.params)
    reason = None
    if df < MIN_RESIDUAL_DF:
        reason = (
            f"{what} leaves {df} residual degree{'s' if df != 1 else ''} of freedom (cells "
            f"minus the effects it fits); an interval needs at least {MIN_RESIDUAL_DF} to "
            "measure how far cells stray from the model"
        )
    elif rss <= EXACT_FIT * scale**2 * y.size:
        reason = (
            f"{what} fits every cell exactly: no variance is left to measure the error of "
            "its effects by"
        )
    if reason is not None:
        return (
            Contrasts(
                estimate=estimate,
                se=None,
                low=None,
                high=None,
                residual_df=df,
                residual_ss=rss,
                reason=reason,
            ),
            residual,
        )
    test = fit.t_test(contrasts)
    bounds = np.asarray(test.conf_int(alpha=alpha))
    return (
        Contrasts(
            estimate=np.asarray(test.effect).ravel(),
            se=np.asarray(test.sd).ravel(),
            low=bounds[:, 0],
            high=bounds[:, 1],
            residual_df=df,
            residual_ss=rss,
            reason=None,
        ),
        residual,
    )


def mean_of_levels(
    levels: np.ndarray, *, alpha: float
) -> tuple[float, float | None, Interval | None, str | None]:
    """The mean of T task levels (mean + task effect) with the t interval on T - 1 degrees
    of freedom that treats the tasks as drawn from many like them: (mean, its standard
    error, interval, reason when declined)."""
    n = levels.size
    mean = float(np.mean(levels))
    if n - 1 < MIN_RESIDUAL_DF:
        return (
            mean,
            None,
            None,
            f"{n} task{'s' if n != 1 else ''}: an interval for the mean delta across tasks "
            f"needs at least {MIN_RESIDUAL_DF + 1} (it rests on how far the tasks' levels "
            "spread)",
        )
    spread = float(np.std(levels, ddof=1))
    if spread <= math.sqrt(EXACT_FIT) * (float(np.max(np.abs(levels))) or 1.0):
        return mean, None, None, "every task has the same level: no spread to measure by"
    from scipy import stats

    se = spread / math.sqrt(n)
    half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * se
    return mean, se, (mean - half, mean + half), None


def welch_intervals(
    estimate: np.ndarray, parts: list[tuple[np.ndarray, float]], *, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """The t intervals of sums of independent estimates: ``parts`` holds each term's
    standard errors (one per estimate) and degrees of freedom; the interval's degrees of
    freedom are Welch-Satterthwaite's."""
    from scipy import stats

    variance = sum(se**2 for se, _ in parts)
    denominator = sum(se**4 / df for se, df in parts)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(denominator > 0, variance**2 / denominator, np.inf)
    half = stats.t.ppf(1 - alpha / 2, df) * np.sqrt(variance)
    return estimate - half, estimate + half
