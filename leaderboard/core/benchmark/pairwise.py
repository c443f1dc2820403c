"""Which teams of a track can be told apart: simultaneous intervals for every pair of track
means, and the groups, rank intervals and verdicts that follow from them (issue 38).

A team's track mean is the mean of its (oriented) scores over the track's T tasks, a task
without a score counting a fixed value (`first`). Over the scored cells of the ranked teams,
the two-way model

    s[i, t] = mean + team[i] + task[t] + error[i, t]

is fitted by least squares (statsmodels' OLS, sum-coded); its residual variance
sigma^2, on df = cells - rank of the design degrees of freedom, measures how far a team's
score on one task strays from what its level and the task's predict: the team-by-task
interaction and the row noise of each score together. A team with n[i] scored tasks has a
track mean whose error variance is sigma^2 n[i] / T^2 (an unscored task counts a fixed
value), so the difference of two track means has standard error

    se[i, j] = sigma sqrt(n[i] + n[j]) / T.

The intervals ``D[i, j] +- c se[i, j]`` with ``c = q(1 - alpha; K, df) / sqrt(2)``, q the
studentized range of K teams (scipy), hold for every pair at once with probability at least
1 - alpha (Tukey 1953; with unequal n, Tukey-Kramer, conservative: Hayter 1984). So:

- ``group``: the leader (best point mean) and the teams whose interval with it reaches 0
  form group 1; of the teams left, the best and those not separated from it form group 2,
  and so on. Because every pair is covered at once, however the leader was selected, the
  chance that any team whose true mean ties the best is put outside group 1 is at most
  alpha (the simulation test plants ties and counts);
- ``rank_interval``: [1 + the teams separated above, K - the teams separated below]: the
  ranks consistent with every pairwise decision, jointly at 1 - alpha;
- ``verdict`` of a pair (a, b), from a's side: ``equivalent`` when the interval lies within
  [-margin, margin] (the organizer's region of practical equivalence), else ``better`` when
  it lies above 0, ``worse`` below 0, ``undecided`` otherwise.

Declined (no interval, groups or rank intervals; verdicts ``undecided``; a reason) when
the model leaves fewer than 2 residual degrees of freedom (e.g. one task) or no residual
variance at all.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from leaderboard.core.benchmark.linear_model import EXACT_FIT, MIN_RESIDUAL_DF, two_way_design

GROUP_METHOD = "tukey-hsd"  # simultaneous intervals for every pair (the two-way model)
VERDICTS = ("better", "worse", "equivalent", "undecided")

Interval = tuple[float, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class PairComparison:
    a: int  # positions in the caller's teams
    b: int
    difference: float  # mean(a) - mean(b), oriented: positive means a is better
    ci: Interval | None
    verdict: str


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Comparisons:
    pairs: tuple[PairComparison, ...]  # every pair once, a before b in ``order``
    rank_intervals: tuple[tuple[int, int] | None, ...]  # per team
    groups: tuple[int | None, ...]
    residual_df: int
    residual_sd: float | None
    critical_value: float | None  # c: the half-width of an interval in standard errors
    reason: str | None  # why intervals, groups and rank intervals are missing


@lru_cache(maxsize=256)
def studentized_range_quantile(level: float, k: int, df: int) -> float:
    """q(level; k, df), the studentized range quantile (scipy integrates it: cached)."""
    from scipy.stats import studentized_range  # here: scipy.stats costs every start 0.5 s

    return float(studentized_range.ppf(level, k, df))


def _verdict(ci: Interval | None, margin: float) -> str:
    if ci is None:
        return "undecided"
    low, high = ci
    if -margin <= low and high <= margin:
        return "equivalent"
    if low > 0:
        return "better"
    if high < 0:
        return "worse"
    return "undecided"


def _residuals(scores: np.ndarray, scored: np.ndarray) -> tuple[int, float]:
    """(residual df, residual SS) of the two-way model over the scored cells. Teams that
    share no task with the others make the design rank-deficient: the residuals and their
    degrees of freedom (cells - rank) are still what the model leaves."""
    import statsmodels.api as sm  # here: statsmodels costs every process's start 0.3 s
    from statsmodels.tools.sm_exceptions import SingularMatrixWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularMatrixWarning)
        fit = sm.OLS(scores[scored], two_way_design(scored)).fit()
    return round(float(fit.df_resid)), float(np.sum(np.asarray(fit.resid) ** 2))


def compare_teams(
    *,
    scores: np.ndarray,
    scored: np.ndarray,
    means: np.ndarray,
    order: Sequence[int],
    alpha: float,
    margin: float,
    pair_teams: int | None = None,
) -> Comparisons:
    """Pairwise intervals, verdicts, rank intervals and groups of K teams (module docstring).

    ``scores`` (K, T) are the oriented scores (read where ``scored``), ``means`` (K,) the
    track means, ``order`` the teams best point mean first (board order among ties).
    ``pairs`` lists the pairs among the first ``pair_teams`` of ``order`` (all by default);
    groups and rank intervals always weigh every pair.
    """
    n_teams, n_tasks = scored.shape
    if n_teams == 1:
        return Comparisons(
            pairs=(),
            rank_intervals=((1, 1),),
            groups=(1,),
            residual_df=0,
            residual_sd=None,
            critical_value=None,
            reason=None,
        )
    df, rss = _residuals(scores, scored)
    reason = None
    if df < MIN_RESIDUAL_DF:
        reason = (
            f"the scores leave {df} residual degree{'s' if df != 1 else ''} of freedom once "
            "each team's level and each task's are fitted; telling teams apart needs at least "
            f"{MIN_RESIDUAL_DF} to measure how far a team's score strays from task to task"
            + (" (a track of one task has none)" if n_tasks == 1 else "")
        )
    elif rss <= EXACT_FIT * max(float(np.max(np.abs(scores[scored]))), 1e-300) ** 2 * df:
        reason = (
            "every team's scores differ from every other's by the same amount on every task: "
            "no variance is left to measure the uncertainty of a difference by"
        )
    difference = means[:, None] - means[None, :]  # [a, b]: mean(a) - mean(b)
    low = high = None
    sigma = critical = None
    if reason is None:
        sigma = math.sqrt(rss / df)
        critical = studentized_range_quantile(1 - alpha, n_teams, df) / math.sqrt(2)
        counts = scored.sum(axis=1)
        half = critical * sigma * np.sqrt(counts[:, None] + counts[None, :]) / n_tasks
        low, high = difference - half, difference + half
    listed = list(order)[: n_teams if pair_teams is None else max(0, pair_teams)]
    pairs = []
    for x, a in enumerate(listed):
        for b in listed[x + 1 :]:
            ci = None if low is None or high is None else (float(low[a, b]), float(high[a, b]))
            pairs.append(
                PairComparison(
                    a=a,
                    b=b,
                    difference=float(difference[a, b]),
                    ci=ci,
                    verdict=_verdict(ci, margin),
                )
            )
    if low is None:
        return Comparisons(
            pairs=tuple(pairs),
            rank_intervals=(None,) * n_teams,
            groups=(None,) * n_teams,
            residual_df=df,
            residual_sd=None,
            critical_value=None,
            reason=reason,
        )
    above = low > 0  # [a, b]: a separated above b
    return Comparisons(
        pairs=tuple(pairs),
        rank_intervals=tuple(
            (1 + int(above[:, i].sum()), n_teams - int(above[i].sum())) for i in range(n_teams)
        ),
        groups=_groups(order, above),
        residual_df=df,
        residual_sd=sigma,
        critical_value=critical,
        reason=None,
    )


def _groups(order: Sequence[int], above: np.ndarray) -> tuple[int | None, ...]:
    """Group per team: the best team left and every team left it is not separated above."""
    groups: list[int | None] = [None] * above.shape[0]
    number = 0
    for leader in order:
        if groups[leader] is not None:
            continue
        number += 1
        for other in order:
            if groups[other] is None and not above[leader, other]:
                groups[other] = number
    return tuple(groups)


def cliques(separated: np.ndarray) -> list[tuple[int, int]]:
    """The (first, last) runs of teams, in the order given, no two of which are separated
    (``separated[i, j]``: i and j told apart, either way), each as long as it can be and not
    inside an earlier one; a team alone is no run. The bars of a critical-difference
    diagram."""
    n_teams = separated.shape[0]
    runs: list[tuple[int, int]] = []
    for first in range(n_teams):
        last = first
        while last + 1 < n_teams and not separated[first : last + 2, first : last + 2].any():
            last += 1
        if last > first and (not runs or last > runs[-1][1]):
            runs.append((first, last))
    return runs
