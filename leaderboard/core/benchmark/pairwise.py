"""Which teams of a track can be told apart: an interval for every pair of track means from
that pair's own paired differences, adjusted for the number of pairs, and the groups, rank
intervals and verdicts that follow from them (issues 38 and 50;
docs/developers/benchmark-statistics.md §2).

A team's track mean is the mean of its (oriented) scores s[i, t] over the track's T tasks, a
task without a score counting a fixed value. For two teams a and b the difference of their
track means is the mean of their per-task differences

    d[t] = s[a, t] - s[b, t],        D = m[a] - m[b] = (1/T) sum_t d[t].

**On the tasks** (T >= ``MIN_TASKS``: a claim about tasks like these). The task is the unit
of replication: d[1..T] are the pair's T paired observations, and their spread holds
everything that moves the difference from task to task (the pair's team-by-task
interaction and each task's row noise). The interval is the paired t interval

    D +- t(1 - alpha / (2 m); T - 1) se,     se^2 = max(var(d) / T, sum_t v[t] / T^2)

(``scipy.stats.ttest_rel``'s, at the Bonferroni level 1 - alpha / m), with v[t] the
variance of d[t] over the task's paired row resamples: se is never narrower than the row
noise alone makes it (so two teams whose accuracies tie to the fraction on every task by
chance, with different rows right, get no zero-width interval; the floor only widens).

**On the rows** (fewer tasks: a claim about these tasks only). With one or two tasks there
is no spread of tasks to measure (one or no degree of freedom), and nothing can be said about
tasks like these. The interval is then about these tasks' test rows: D +- z(1 - alpha /
(2 m)) sqrt(sum_t v[t]) / T, the normal interval of the paired row bootstrap.

Multiplicity: m = K (K - 1) / 2, every pair of the K ranked teams (groups and rank intervals
weigh every pair, whichever are listed). Bonferroni's intervals hold for every pair at once
with probability at least 1 - alpha whatever the dependence between pairs; so:

- ``group``: the leader (best point mean) and the teams whose interval with it reaches 0
  form group 1; of the teams left, the best and those not separated from it form group 2,
  and so on. Whichever team the data put first, the chance that a team whose true mean ties
  the best is put outside group 1 is at most alpha;
- ``rank_interval``: [1 + the teams separated above, K - the teams separated below]: the
  ranks consistent with every pairwise decision, all true ranks inside at once at 1 - alpha;
- ``verdict`` of a pair (a, b), from a's side: ``equivalent`` when the interval lies within
  [-margin, margin] (the organizer's region of practical equivalence: a two one-sided test
  at alpha / (2 m) each side), else ``better`` above 0, ``worse`` below 0, else
  ``undecided``.

Two teams whose scores and row resamples are identical on every task (the same predictions)
differ by exactly 0 on every task and every resample: their interval is [0, 0] and they are
``equivalent`` at any margin. A pair whose difference has no spread at all while not being
identical (constant on every task and every resample: resamples that could not be read) gets
no interval, with the reason, and counts as not separated. When no pair has an interval the
groups and rank intervals are declined too, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

GROUP_METHOD = "paired-t-bonferroni"  # on the tasks: each pair's per-task differences
ROWS_METHOD = "paired-rows-bonferroni"  # fewer than MIN_TASKS tasks: each pair's row resamples
MIN_TASKS = 3  # a t interval over the tasks needs 2 degrees of freedom (T - 1) at least
BASES = ("tasks", "rows")
VERDICTS = ("better", "worse", "equivalent", "undecided")

Interval = tuple[float, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class PairComparison:
    a: int  # positions in the caller's teams
    b: int
    difference: float  # mean(a) - mean(b), oriented: positive means a is better
    ci: Interval | None
    verdict: str
    reason: str | None = None  # why ci is None for this pair


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Comparisons:
    pairs: tuple[PairComparison, ...]  # every pair once, a before b in ``order``
    rank_intervals: tuple[tuple[int, int] | None, ...]  # per team
    groups: tuple[int | None, ...]
    method: str  # GROUP_METHOD or ROWS_METHOD
    basis: str  # "tasks" or "rows": what the intervals make a claim about
    note: str  # the basis and the adjustment in words
    df: int | None  # the t intervals' degrees of freedom (T - 1); None on the rows (normal)
    critical_value: float | None  # every interval's half-width in its standard errors
    family: int  # m: the pairs the adjustment counts
    reason: str | None  # why groups and rank intervals are missing


@lru_cache(maxsize=256)
def critical_quantile(level: float, df: int | None) -> float:
    """The two-sided quantile of ``level`` (= 1 - alpha / m): Student's t on ``df`` degrees
    of freedom, or the normal for None (scipy; cached)."""
    from scipy import stats  # here: scipy.stats costs every process's start 0.5 s

    upper = 1 - (1 - level) / 2
    return float(stats.norm.ppf(upper) if df is None else stats.t.ppf(upper, df))


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


def _identical(scores: np.ndarray, resamples: np.ndarray) -> np.ndarray:
    """(K, K) bool: the two teams' scores and row resamples are equal on every task."""
    n_teams = scores.shape[0]
    whole = np.concatenate([scores, resamples.transpose(2, 0, 1).reshape(n_teams, -1)], axis=1)
    seen: dict[bytes, int] = {}  # the same bytes are the same values (0.0 and -0.0 aside)
    label = np.array([seen.setdefault(row.tobytes(), len(seen)) for row in whole])
    return label[:, None] == label[None, :]


def _task_spread(scores: np.ndarray) -> np.ndarray:
    """(K, K) the variance (ddof 1) over the tasks of the pair's per-task differences,
    computed from the differences themselves (exactly 0 for equal rows, whatever the scale)."""
    n_teams = scores.shape[0]
    spread = np.zeros((n_teams, n_teams))
    for a in range(n_teams - 1):
        variance = np.var(scores[a][None, :] - scores[a + 1 :], axis=1, ddof=1)
        spread[a, a + 1 :] = spread[a + 1 :, a] = variance
    return spread


ROUNDING = 1e-12  # a pair's row variance below this share of its teams' own is rounding


def _row_variance(resamples: np.ndarray) -> np.ndarray:
    """(K, K) sum over the tasks of the variance (ddof 1), over the task's paired row
    resamples, of the pair's difference: Var(x_a - x_b) = C_aa + C_bb - 2 C_ab. Each task's
    resamples are first taken from their first row, so a column that never moves is exactly
    0; what the subtraction leaves below ``ROUNDING`` of C_aa + C_bb is its rounding, 0."""
    n_tasks, n_rows, n_teams = resamples.shape
    total = np.zeros((n_teams, n_teams))
    if n_rows < 2:
        return total
    for t in range(n_tasks):
        shifted = resamples[t] - resamples[t][0]
        centred = shifted - shifted.mean(axis=0)
        total += centred.T @ centred / (n_rows - 1)
    diagonal = np.diag(total)
    both = diagonal[:, None] + diagonal[None, :]
    variance = both - 2 * total
    return np.where(variance > ROUNDING * both, variance, 0.0)


def _basis_note(basis: str, *, n_tasks: int, family: int, alpha: float) -> str:
    pairs = f"{family} pair{'s' if family != 1 else ''}"
    level = f"{100 * (1 - alpha):g}%"
    if basis == "tasks":
        return (
            f"each pair's interval comes from its own {n_tasks} per-task differences (paired t "
            f"on {n_tasks - 1} degrees of freedom, never narrower than the rows' noise makes "
            f"it), Bonferroni-adjusted over the {pairs} so that all hold at once at {level}: "
            "a claim about tasks like these"
        )
    tasks, these = ("one task", "this task") if n_tasks == 1 else (f"{n_tasks} tasks", "them")
    return (
        f"a track of {tasks} is too few to say anything about tasks like these (that needs "
        f"{MIN_TASKS}): each pair's interval comes from its paired differences over "
        f"resamples of the test rows within {these}, Bonferroni-adjusted over the {pairs} so "
        f"that all hold at once at {level}: a claim about these tasks' rows only"
    )


_NO_SPREAD = (
    "the two teams' difference is the same on every task and on every resample of the rows "
    "while their predictions are not the same: nothing measures its uncertainty (were the "
    "prediction files readable?)"
)


def compare_teams(
    *,
    scores: np.ndarray,
    resamples: np.ndarray,
    means: np.ndarray,
    order: Sequence[int],
    alpha: float,
    margin: float,
    pair_teams: int | None = None,
) -> Comparisons:
    """Pairwise intervals, verdicts, rank intervals and groups of K teams (module docstring).

    ``scores`` (K, T) are the oriented scores, a missing one filled with what it counts;
    ``resamples`` (T, B, K) each task's paired row resamples, oriented and filled the same
    way; ``means`` (K,) the track means (the scores' means over the tasks); ``order`` the
    teams best point mean first (board order among ties). ``pairs`` lists the pairs among
    the first ``pair_teams`` of ``order`` (all by default); groups and rank intervals always
    weigh every pair.
    """
    n_teams, n_tasks = scores.shape
    family = n_teams * (n_teams - 1) // 2
    basis = "tasks" if n_tasks >= MIN_TASKS else "rows"
    df = n_tasks - 1 if basis == "tasks" else None
    note = _basis_note(basis, n_tasks=n_tasks, family=family, alpha=alpha)
    method = GROUP_METHOD if basis == "tasks" else ROWS_METHOD
    if n_teams == 1:
        return Comparisons(
            pairs=(),
            rank_intervals=((1, 1),),
            groups=(1,),
            method=method,
            basis=basis,
            note=note,
            df=df,
            critical_value=None,
            family=0,
            reason=None,
        )
    # In units of the largest |value|: RMSEs of 1e200 square without overflow.
    scale = max(float(np.max(np.abs(scores))), float(np.max(np.abs(resamples), initial=0.0)))
    scale = scale if scale > 0 else 1.0
    rows = _row_variance(resamples / scale) / n_tasks**2
    variance = np.maximum(_task_spread(scores / scale) / n_tasks, rows) if df else rows
    identical = _identical(scores, resamples)
    variance[identical] = 0.0
    se = np.sqrt(variance) * scale
    critical = critical_quantile(1 - alpha / family, df)
    difference = means[:, None] - means[None, :]  # [a, b]: mean(a) - mean(b)
    given = (se > 0) | identical
    low = np.where(given, difference - critical * se, np.nan)
    high = np.where(given, difference + critical * se, np.nan)
    listed = list(order)[: n_teams if pair_teams is None else max(0, pair_teams)]
    pairs = []
    for x, a in enumerate(listed):
        for b in listed[x + 1 :]:
            ci = (float(low[a, b]), float(high[a, b])) if given[a, b] else None
            pairs.append(
                PairComparison(
                    a=a,
                    b=b,
                    difference=float(difference[a, b]),
                    ci=ci,
                    verdict=_verdict(ci, margin),
                    reason=None if ci is not None else _NO_SPREAD,
                )
            )
    off_diagonal = ~np.eye(n_teams, dtype=bool)
    reason = None if given[off_diagonal].any() else f"for every pair, {_NO_SPREAD}"
    if reason is not None:
        rank_intervals: tuple[tuple[int, int] | None, ...] = (None,) * n_teams
        groups: tuple[int | None, ...] = (None,) * n_teams
    else:
        above = given & (low > 0)  # [a, b]: a separated above b
        rank_intervals = tuple(
            (1 + int(above[:, i].sum()), n_teams - int(above[i].sum())) for i in range(n_teams)
        )
        groups = _groups(order, above)
    return Comparisons(
        pairs=tuple(pairs),
        rank_intervals=rank_intervals,
        groups=groups,
        method=method,
        basis=basis,
        note=note,
        df=df,
        critical_value=critical,
        family=family,
        reason=reason,
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
