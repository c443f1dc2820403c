"""The public board's ladder modes (docs/organizers/ladder.md): when a team's shown score moves.

A team's entries on one task's public split are decided one at a time, in the order they
were made. Each is weighed against the team's *leader*, the last entry that climbed (the
first entry always climbs); the board shows the leader with its *shown score*.

``ladder`` (Blum & Hardt 2015, the parameter-free Ladder; ``mrtzh/Ladder.jl``)
    The new entry climbs when it beats the leader by more than one standard error of the
    paired difference, one-sided. The difference and its standard error come from per-unit
    values: for a metric that is a mean of per-row losses (accuracy, RMSE's squared errors)
    the losses themselves; for any other function of sums over rows (F1, macro-F1, R²) its
    first-order expansion around the midpoint of the two entries' sums (the delta method:
    each row's columns weighted by the gradient there, ``RowStatistic.row_linear``); for a
    grouping task the same expansion in the entities' weights
    (``EntityStatistic.paired_linearization``). With per-unit improvements ``u`` (positive:
    the new entry better) over ``n`` units, ``S = sum u``, ``Q = sum u**2``, the rule
    ``mean(u) > sd(u, ddof=1) / sqrt(n)`` is ``S > 0 and S**2 > Q`` (multiply out), exact in
    integers for 0/1 losses: one row that differs (``S**2 == Q``) never climbs. A climb
    also needs the exact score to be better. The shown score is the exact public score
    rounded to :func:`resolution`.

``ladder-bootstrap`` (Sage Bionetworks' DREAM rule, ``challengescoring`` ``bootLadderBoot``)
    Both entries are scored on the same B bootstraps of the public rows (``seed``
    :data:`SEED`, the boards' paired bootstrap, ``leaderboard.core.bootstrap``). The new
    entry climbs when the Bayes factor, the bootstraps it wins over those it does not win,
    exceeds the threshold (3) and its mean over the bootstraps is better. A tie is not a
    win (DREAM counts it as one for a higher-is-better metric: a one-row probe would then
    climb whenever its row is drawn or not). The shown score is the mean of the new
    entry's first :data:`REPORT_BOOTSTRAPS` bootstrap scores.

Every function here is pure (numpy); ``leaderboard.boards.ladder`` runs them in the board's
refresh with the stored predictions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from common.board_modes import LADDER_BOOTSTRAP, REPORT_BOOTSTRAPS
from kinds.base import EntityStatistic, RowStatistic

SEED = 98121  # the bootstraps' seed (DREAM's default): every decision of a task draws the same
# "More than" one standard error, and a Bayes factor "above" its threshold: a comparison
# within this relative distance of the bound counts as not above it (ties of float sums).
TIE = 1e-9

Statistic = RowStatistic | EntityStatistic


@dataclass(frozen=True, slots=True)
class Decision:
    """One entry weighed against its team's leader (or the first entry: ``first``).

    ``shown_score``: the entry's shown score when it climbed, else None (the team's stays).
    ``difference``: how much better the new entry is, in the metric's units (positive:
    better): the first-order difference (``ladder``) or the mean of the bootstrap
    differences (``ladder-bootstrap``); ``standard_error`` its bound (``ladder``);
    ``bayes_factor`` the bootstraps won over those not won (``ladder-bootstrap``; inf when
    it won them all); ``units`` the rows (or entities) of the public split."""

    climbed: bool
    shown_score: float | None
    units: int
    first: bool = False
    difference: float | None = None
    standard_error: float | None = None
    bayes_factor: float | None = None
    wins: int | None = None
    bootstraps: int | None = None


def resolution(units: int) -> float:
    """The step shown scores are rounded to on a public split of ``units`` rows (or
    entities): ``1 / sqrt(units)``, the scale of a score's standard error there, rounded
    down to a power of ten (100 rows: 0.1; 2,000 and 10,000: 0.01; a million: 0.001)."""
    if units < 1:
        raise ValueError("a public split needs at least one row")
    return 10.0 ** math.floor(math.log10(1 / math.sqrt(units)) + 1e-12)


def rounded(score: float, units: int) -> float:
    """``score`` to the nearest multiple of :func:`resolution` (written with as many
    decimals as the step has: 0.53, never 0.5300000000000001)."""
    step = resolution(units)
    decimals = max(0, -round(math.log10(step)))
    return round(round(score / step) * step, decimals)


def on_grid(score: float, step: float) -> float:
    """``score`` to the nearest multiple of ``step`` (a power of ten or a multiple of one:
    written with as many decimals as the step has)."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-12)) + 1
    return round(round(score / step) * step, decimals)


def first_decision(*, mode: str, exact: float, units: int, report: float | None = None) -> Decision:
    """A team's first entry climbs: its shown score is the rounded exact score (``ladder``,
    ``ladder-step``) or ``report``, the mean of its first bootstrap scores
    (``ladder-bootstrap``)."""
    shown = report if mode == LADDER_BOOTSTRAP else rounded(exact, units)
    return Decision(climbed=True, shown_score=shown, units=units, first=True)


def t_rule(*, delta: float, influence: np.ndarray) -> tuple[bool, float]:
    """Whether ``delta`` (the first-order improvement) exceeds one standard error of the
    paired difference whose per-unit influences are ``influence``, and that standard error
    (``sqrt(n / (n - 1) * sum((u - mean u)**2))``, the sample standard deviation of the
    per-unit differences over sqrt(n) when ``delta`` is their mean; ``S**2 > Q`` then)."""
    u = np.asarray(influence, dtype=np.float64)
    n = u.size
    if n < 2:
        return False, math.inf
    # Not ``np.dot``: a BLAS call, whose threads cost milliseconds on a busy host.
    s, q = float(u.sum()), float(np.square(u).sum())
    variance = max(q - s * s / n, 0.0) * n / (n - 1)
    return delta > 0 and delta * delta > variance * (1 + TIE), math.sqrt(variance)


def ladder_decision(
    *, delta: float, influence: np.ndarray, exact_gain: float, exact: float, units: int
) -> Decision:
    """The Ladder's step: climb when the first-order improvement ``delta`` beats one
    standard error and the exact score is better (``exact_gain`` > 0, oriented); the shown
    score is then ``exact`` rounded."""
    climbed, se = t_rule(delta=delta, influence=influence)
    climbed = climbed and exact_gain > 0
    return Decision(
        climbed=climbed,
        shown_score=rounded(exact, units) if climbed else None,
        units=units,
        difference=delta,
        standard_error=se,
    )


def step_decision(
    *, delta: float, influence: np.ndarray, exact: float, shown: float, sign: float, units: int
) -> Decision:
    """``ladder-step``: Blum & Hardt's Ladder with a fixed step (their Algorithm 1) on top of
    the parameter-free rule (:func:`ladder_decision`). The new entry climbs when its exact
    score beats the team's *shown* score by more than the step, :func:`resolution` (0.01 on
    2,000 rows), and its first-order improvement ``delta`` over the leader beats one standard
    error of the paired difference; the shown score is then ``exact`` on the step's grid,
    which is at least one step above the old one: every climb shows."""
    step = resolution(units)
    climbed, se = t_rule(delta=delta, influence=influence)
    climbed = climbed and sign * (exact - shown) > step * (1 + TIE)
    return Decision(
        climbed=climbed,
        shown_score=rounded(exact, units) if climbed else None,
        units=units,
        difference=delta,
        standard_error=se,
    )


def bootstrap_decision(
    *,
    new: np.ndarray,
    old: np.ndarray,
    higher_is_better: bool,
    threshold: float,
    units: int,
    report: int = REPORT_BOOTSTRAPS,
) -> Decision:
    """The DREAM rule on paired bootstrap scores ``new`` and ``old`` (one per bootstrap,
    the same bootstraps): climb when wins / (bootstraps - wins) > ``threshold`` and the
    new entry's mean is better; the shown score is the mean of its first ``report``."""
    new, old = np.asarray(new, dtype=np.float64), np.asarray(old, dtype=np.float64)
    sign = 1.0 if higher_is_better else -1.0
    gains = sign * (new - old)
    wins = int(np.count_nonzero(gains > 0))
    losses = gains.size - wins
    factor = math.inf if losses == 0 else wins / losses
    mean_gain = float(gains.mean())
    climbed = factor > threshold * (1 + TIE) and mean_gain > 0
    return Decision(
        climbed=climbed,
        shown_score=bootstrap_report(new, report) if climbed else None,
        units=units,
        difference=mean_gain,
        bayes_factor=factor,
        wins=wins,
        bootstraps=int(gains.size),
    )


def bootstrap_report(samples: np.ndarray, report: int = REPORT_BOOTSTRAPS) -> float:
    """The shown score of ``ladder-bootstrap``: the mean of the first ``report`` bootstrap
    scores (DREAM's ``reportBootstrapN``)."""
    return float(np.mean(np.asarray(samples, dtype=np.float64)[:report]))


# --- the per-unit values of two entries ------------------------------------------------------


def _gradient(statistic: RowStatistic, sums: np.ndarray, shared: np.ndarray, n: int) -> np.ndarray:
    """d score / d (entry sums) at ``sums`` (central differences: every statistic's score
    is a smooth function of its sums there)."""
    width = sums.shape[0]
    step = 1e-6 * np.maximum(np.abs(sums), 1.0)
    batch = np.repeat(sums[None, :], 2 * width, axis=0)
    index = np.arange(width)
    batch[index, index] += step
    batch[width + index, index] -= step
    shared_batch = np.repeat(np.asarray(shared, dtype=np.float64)[None, :], 2 * width, axis=0)
    values = statistic.scores(batch[:, None, :], shared_batch, float(n))[:, 0]
    return (values[:width] - values[width:]) / (2 * step)


def row_linearization(
    *, y: np.ndarray, new: np.ndarray, old: np.ndarray, statistic: RowStatistic, sign: float
) -> tuple[float, np.ndarray]:
    """The first-order improvement of ``new`` over ``old`` (``sign``: +1 when higher is
    better) and each row's share of it: the entries' columns weighted by the score's
    gradient at the midpoint of their sums. A metric of one column (a mean of losses) is
    weighted by the gradient's sign only, so the rows' values are the losses themselves (for
    0/1 losses, exact multiples of one number) and the rule is Blum & Hardt's on them. The
    first-order improvement is the rows' sum."""
    y, (new, old) = statistic.prepare(y, [new, old])
    n = y.shape[0]
    sums_new, sums_old = statistic.entry_sums(y, new), statistic.entry_sums(y, old)
    shared = statistic.shared_sums(y) if statistic.shared else np.zeros(0)
    gradient = _gradient(statistic, (sums_new + sums_old) / 2, shared, n)
    scale = float(np.max(np.abs(gradient))) if gradient.size else 0.0
    if not np.isfinite(scale) or scale == 0:
        return 0.0, np.zeros(n)
    weights = gradient / scale  # one column: exactly +1 or -1
    influence = statistic.row_linear(y, new, weights)
    influence -= statistic.row_linear(y, old, weights)
    influence *= sign * scale  # in the metric's units: the rows' shares of the change
    return float(influence.sum()), influence


def paired_linearization(
    *, y: np.ndarray, new: np.ndarray, old: np.ndarray, statistic: Statistic, sign: float
) -> tuple[float, np.ndarray]:
    """:func:`row_linearization`, or for a statistic of entities (``y`` holds each record's
    entity) the kind's ``paired_linearization``; ValueError when it has none."""
    if isinstance(statistic, RowStatistic):
        return row_linearization(y=y, new=new, old=old, statistic=statistic, sign=sign)
    uniques, codes = np.unique(np.asarray(y), return_inverse=True)
    found = statistic.paired_linearization(
        entities=codes.astype(np.int64),
        n_entities=int(uniques.size),
        new=np.asarray(new),
        old=np.asarray(old),
    )
    if found is None:
        raise ValueError("this statistic has no linearization for the ladder")
    delta, influence = found
    return sign * delta, sign * np.asarray(influence, dtype=np.float64)


def units_of(*, y: np.ndarray, statistic: Statistic) -> int:
    """What a split's scores are a mean over: its rows, or a grouping task's entities."""
    if isinstance(statistic, RowStatistic):
        return int(np.asarray(y).shape[0])
    return int(np.unique(np.asarray(y)).size)


__all__ = [
    "SEED",
    "Decision",
    "bootstrap_decision",
    "bootstrap_report",
    "first_decision",
    "ladder_decision",
    "on_grid",
    "paired_linearization",
    "resolution",
    "rounded",
    "row_linearization",
    "step_decision",
    "t_rule",
    "units_of",
]
