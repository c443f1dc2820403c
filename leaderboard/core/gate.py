"""The champion gate: may a new entry take the place of a task's champion?

Pure (numpy, scipy, statsmodels and the task's kind); the method, its levels and why are in
docs/organizers/champion-gate.md. On the rows of one split, a new entry ``new`` passes against the
champion ``champion`` when all three hold:

1. **It is really better.** The paired bootstrap (``leaderboard.core.bootstrap``: both
   entries scored on the same resamples) gives the interval of the primary metric's
   difference ``sign * (new - champion)`` (positive: better, whatever the metric's
   direction), at the challenge's level ``alpha``; its lower end must be above 0. For
   label outputs (``TaskKind.mcnemar``) McNemar's exact test is accepted instead: the
   two-sided exact binomial test of the fixed against the broken units, ``p <= alpha``,
   with more fixes than breaks. A metric without a bootstrap statistic (macro-F1,
   precision...) has no interval (``ci`` None) and only McNemar's test can show it.
2. **It breaks little.** The negative flip rate (units the champion had right and the new
   entry has wrong, over all units; the kind says what a flip is, ``TaskKind.gate_flips``)
   has a two-sided 95% Clopper-Pearson interval whose upper end must be ``<= epsilon``.
3. **No slice breaks.** For every value of every slice column with at least
   ``min_slice_rows`` units, the exact one-sided binomial test of H0 "the slice's NFR is
   at most epsilon" (``p = P(X >= breaks | units, epsilon)``); Holm's step-down over all
   the slices at the challenge's level ``alpha`` must reject none. A slice that breaks is
   one whose NFR is shown to be above epsilon, family-wise: small slices cannot prove a
   small NFR (30 rows without a break only bound it by 0.12), but a broken one shows.
   Each slice reports its NFR and the upper end of its 95% Clopper-Pearson interval
   (``nfr_upper``); the worst slice is the one with the strongest evidence of breaking
   (the smallest p, then the highest NFR).

The verdict has three outcomes (``verdict``): ``passes``; ``fails``, naming the first rule
that broke (``rule``, in this order: ``improvement``, ``nfr``, ``slice``); and
``cannot_tell``: it is really better and no slice breaks, but the NFR's upper bound is above
epsilon only because the split is too small: the observed NFR is below epsilon, and
``rows_needed`` units at that NFR would bound it at epsilon. An observed NFR at or above
epsilon *fails* the ``nfr`` rule (more rows at that rate would not help). Against a *floor*
champion (the trivial baseline: a guess of the class prior, no model anyone ships) only the
improvement rule binds; the NFR and the slices are reported.

The unit is the row, or the kind's (``TaskKind.flip_units``: a grouping task's entity,
whose records flip together): counts, rates, slices and their sizes are in units.

The statistical tests themselves (the Clopper-Pearson bounds, McNemar's test, the slices'
tests under Holm) are in :mod:`leaderboard.core.gate_statistics`; this module weighs two
entries with them and turns the three rules into a verdict and its reasons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from kinds import kind_get, metric_info
from leaderboard.core.bootstrap import _tail_index, bootstrap_leaderboard, has_bootstrap
from leaderboard.core.gate_statistics import (
    MIN_SLICE_ROWS,
    McNemar,
    SliceColumn,
    SliceVerdict,
    clopper_pearson,
    mcnemar_exact,
    pass_probability,
    rows_needed,
    slice_verdicts,
)

MAX_BROKEN_IDS = 100
DEFAULT_EPSILON = 0.02

PASSES, FAILS, CANNOT_TELL = "passes", "fails", "cannot_tell"
VERDICTS = (PASSES, FAILS, CANNOT_TELL)
IMPROVEMENT, NFR, SLICE = "improvement", "nfr", "slice"
RULES = (IMPROVEMENT, NFR, SLICE)  # the order in which a failing rule is named


@dataclass(frozen=True, kw_only=True)
class GateSettings:
    """The gate's parameters: ``epsilon`` (the NFR bound: ``gate_nfr_epsilon``), ``alpha``
    (the challenge's level: difference interval and McNemar's test), the bootstrap's
    resamples and seed, the smallest slice and how many broken rows to name."""

    epsilon: float = DEFAULT_EPSILON
    alpha: float = 0.05
    n_resamples: int = 1000
    seed: int = 0
    min_slice_rows: int = MIN_SLICE_ROWS
    max_broken: int = MAX_BROKEN_IDS
    # The champion is a floor (the trivial baseline): only the improvement rule binds.
    floor_champion: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.epsilon <= 1:
            raise ValueError(f"epsilon must be in [0, 1], not {self.epsilon}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), not {self.alpha}")


@dataclass(frozen=True, kw_only=True)
class GateResult:
    """The gate's figures and verdict on one split (see the module's docstring)."""

    metric: str
    units: int
    difference: float | None
    ci: tuple[float, float] | None
    nfr: float | None
    nfr_ci: tuple[float, float] | None
    pfr: float | None
    pfr_ci: tuple[float, float] | None
    mcnemar: McNemar | None
    slices: tuple[SliceVerdict, ...]
    worst_slice: SliceVerdict | None
    improved: bool
    improved_by: str | None  # "bootstrap", "mcnemar" or None
    breaks_little: bool
    slices_hold: bool
    passes: bool
    broken_rows: np.ndarray  # positions (in all rows) of the first broken rows, row order
    reasons: tuple[str, ...] = field(default=())
    verdict: str = FAILS  # passes, fails or cannot_tell (module docstring)
    rule: str | None = None  # fails: the first rule that broke (RULES' order)
    rows_needed: int | None = None  # cannot_tell: units that would bound the NFR at epsilon
    changed: int = 0  # rows of the split where the two outputs differ (the truth aside)
    floor: bool = False  # weighed against a floor champion (settings.floor_champion)


def _difference(
    *,
    kind: str,
    metric: str,
    y: np.ndarray,
    new: np.ndarray,
    champion: np.ndarray,
    rows: np.ndarray,
    settings: GateSettings,
    scores: tuple[float | None, float | None],
) -> tuple[float | None, tuple[float, float] | None, str | None]:
    """``(difference, ci, why no ci)``: ``sign * (new - champion)`` on the rows, with its
    paired bootstrap interval where the kind has a statistic of the metric."""
    sign = 1.0 if metric_info(metric).higher_is_better else -1.0
    if not has_bootstrap(kind, metric):
        old, now = scores
        point = None if old is None or now is None else sign * (now - old)
        return point, None, f"{metric} has no bootstrap interval"
    result = bootstrap_leaderboard(
        y=y,
        preds=[champion, new],
        kind=kind,
        metric=metric,
        n_resamples=settings.n_resamples,
        seed=settings.seed,
        alpha=settings.alpha,
        rows=rows,
        is_baseline=[True, True],
        keep_samples=True,
    )
    assert result.samples is not None
    point = sign * (result.entries[1].score - result.entries[0].score)
    differences = np.sort(sign * (result.samples[:, 1] - result.samples[:, 0]))
    if not math.isfinite(point) or not np.isfinite(differences).all():
        return (point if math.isfinite(point) else None), None, "the metric is undefined here"
    k = _tail_index(settings.alpha, settings.n_resamples)
    low, high = differences[k - 1], differences[settings.n_resamples - k]
    return float(point), (float(low), float(high)), None


def _units(kind: str, y: np.ndarray) -> tuple[np.ndarray | None, int]:
    """Each row's unit (compact codes) and the number of units; None: a unit per row."""
    codes = kind_get(kind).flip_units(y)
    if codes is None:
        return None, int(y.shape[0])
    _, compact = np.unique(np.asarray(codes), return_inverse=True)
    return compact, int(compact.max()) + 1 if compact.size else 0


def outputs_differ(kind: str, new: np.ndarray, champion: np.ndarray) -> np.ndarray:
    """Per row, whether the two entries' outputs differ (the kind says how: a label, a
    number, a record's cluster), whatever the truth: what the release check's disclosure
    rule counts (docs/organizers/disclosure.md)."""
    return np.asarray(kind_get(kind).outputs_differ(np.asarray(new), np.asarray(champion)))


def _per_unit(flags: np.ndarray, units: np.ndarray | None, n_units: int) -> np.ndarray:
    """A flag per unit: set when any of its rows is (rows of a unit flip together)."""
    if units is None:
        return flags
    return np.bincount(units, weights=flags, minlength=n_units) > 0


def gate_evaluate(
    *,
    kind: str,
    metric: str,
    y: np.ndarray,
    new: np.ndarray,
    champion: np.ndarray,
    rows: np.ndarray,
    options: Mapping[str, Any] | None = None,
    slices: Mapping[str, SliceColumn] | None = None,
    settings: GateSettings | None = None,
    scores: tuple[float | None, float | None] = (None, None),
) -> GateResult:
    """The gate of ``new`` against ``champion`` (aligned with the truth ``y``) on the rows
    of ``rows`` (a boolean mask: the split). ``options`` are the kind's (regression's
    tolerance), ``slices`` the slice columns (codes per row), ``scores`` the champion's and
    the new entry's primary score on the split (used when the metric has no bootstrap)."""
    settings = settings or GateSettings()
    options = options or {}
    task_kind = kind_get(kind)
    y, new, champion = (np.asarray(a) for a in (y, new, champion))
    rows = np.asarray(rows, dtype=bool)
    if not (y.shape == new.shape == champion.shape == rows.shape) or y.ndim != 1:
        raise ValueError("y, new, champion and rows must be 1-D of the same length")
    positions = np.flatnonzero(rows)
    y_rows = y[positions]
    units, n_units = _units(kind, y_rows)
    if n_units == 0:
        return _declined(metric, "there are no rows to compare on this split")
    fixed_rows, broken_rows = task_kind.gate_flips(
        y_rows, new[positions], champion[positions], options
    )
    fixed = _per_unit(np.asarray(fixed_rows, dtype=bool), units, n_units)
    broken = _per_unit(np.asarray(broken_rows, dtype=bool), units, n_units)
    n_fixed, n_broken = int(fixed.sum()), int(broken.sum())
    difference, ci, no_ci = _difference(
        kind=kind,
        metric=metric,
        y=y,
        new=new,
        champion=champion,
        rows=rows,
        settings=settings,
        scores=scores,
    )
    if task_kind.mcnemar:
        test = mcnemar_exact(fixes=n_fixed, breaks=n_broken)
    else:
        test = McNemar(fixes=n_fixed, breaks=n_broken, p=None)
    by_bootstrap = ci is not None and ci[0] > 0
    by_mcnemar = test.p is not None and test.p <= settings.alpha and n_fixed > n_broken
    nfr_ci = clopper_pearson(count=n_broken, n=n_units)
    row_slices = {column: values.take(positions) for column, values in (slices or {}).items()}
    verdicts = slice_verdicts(
        slices=row_slices,
        broken=broken.astype(np.float64),
        units=units,
        n_units=n_units,
        epsilon=settings.epsilon,
        alpha=settings.alpha,
        min_rows=settings.min_slice_rows,
    )
    worst = min(verdicts, key=lambda v: (v.p, -v.nfr), default=None)
    improved = by_bootstrap or by_mcnemar
    breaks_little = nfr_ci[1] <= settings.epsilon
    slices_hold = not any(v.broken for v in verdicts)
    verdict, rule, needed = decide(
        improved=improved,
        nfr=n_broken / n_units,
        nfr_upper=nfr_ci[1],
        slices_hold=slices_hold,
        settings=settings,
    )
    broken_positions = positions[np.flatnonzero(np.asarray(broken_rows, dtype=bool))]
    result = GateResult(
        metric=metric,
        units=n_units,
        difference=difference,
        ci=ci,
        nfr=n_broken / n_units,
        nfr_ci=nfr_ci,
        pfr=n_fixed / n_units,
        pfr_ci=clopper_pearson(count=n_fixed, n=n_units),
        mcnemar=test,
        slices=tuple(verdicts),
        worst_slice=worst,
        improved=improved,
        improved_by="bootstrap" if by_bootstrap else ("mcnemar" if by_mcnemar else None),
        breaks_little=breaks_little,
        slices_hold=slices_hold,
        passes=verdict == PASSES,
        broken_rows=broken_positions[: settings.max_broken],
        verdict=verdict,
        rule=rule,
        rows_needed=needed,
        changed=int(outputs_differ(kind, new[positions], champion[positions]).sum()),
        floor=settings.floor_champion,
    )
    return _with_reasons(result, settings=settings, no_ci=no_ci, noun=task_kind.flip_noun)


def decide(
    *, improved: bool, nfr: float, nfr_upper: float, slices_hold: bool, settings: GateSettings
) -> tuple[str, str | None, int | None]:
    """``(verdict, rule, rows_needed)`` from the three tests (module docstring): the first
    rule that broke, in RULES' order, fails the entry; an NFR bound above epsilon at an
    observed NFR below it cannot tell (after every other rule held)."""
    if not improved:
        return FAILS, IMPROVEMENT, None
    if settings.floor_champion:
        return PASSES, None, None
    breaks_little = nfr_upper <= settings.epsilon
    if not breaks_little and nfr >= settings.epsilon:
        return FAILS, NFR, None
    if not slices_hold:
        return FAILS, SLICE, None
    if breaks_little:
        return PASSES, None, None
    needed = rows_needed(nfr=nfr, epsilon=settings.epsilon)
    if needed is None:  # beyond any split (an NFR a hair below epsilon): it fails
        return FAILS, NFR, None
    return CANNOT_TELL, None, needed


def _nfr_reason(result: GateResult, *, settings: GateSettings, noun: str) -> str:
    """The NFR rule in words: never "breaks too much" unless the observed NFR is at least
    epsilon (a bound above epsilon from too few rows is "cannot tell")."""
    assert result.nfr_ci is not None and result.nfr is not None
    upper, eps = result.nfr_ci[1], settings.epsilon
    broken = result.mcnemar.breaks if result.mcnemar is not None else 0
    counted = f"{broken} of {result.units} {noun}s broken (NFR {result.nfr:.4f})"
    if result.floor:
        return (
            f"Against the trivial baseline the NFR is reported, not required (a guess of the "
            f"class prior is no model to protect): {counted}, upper bound {upper:.4f}."
        )
    if result.breaks_little:
        return f"Breaks little: the NFR's upper bound is {upper:.4f} (<= epsilon {eps:g})."
    if result.nfr >= eps:
        return (
            f"Breaks too much: {counted}, at or above epsilon {eps:g}; the upper bound is "
            f"{upper:.4f}."
        )
    needed = rows_needed(nfr=result.nfr, epsilon=eps)
    if needed is None:
        return (
            f"Breaks too much: {counted}, so close to epsilon {eps:g} that no split could "
            f"bound it below; the upper bound is {upper:.4f}."
        )
    chance = pass_probability(n=needed, nfr=result.nfr, epsilon=eps)
    return (
        f"Cannot tell whether it breaks little: {counted}, but {result.units:,} {noun}s only "
        f"bound the NFR by {upper:.4f} (> epsilon {eps:g}). About {needed:,} {noun}s at this "
        f"NFR would bound it at epsilon (a split of that size shows it with probability "
        f"{chance:.0%} if the entry truly breaks this share)."
    )


def _declined(metric: str, why: str) -> GateResult:
    return GateResult(
        metric=metric,
        units=0,
        difference=None,
        ci=None,
        nfr=None,
        nfr_ci=None,
        pfr=None,
        pfr_ci=None,
        mcnemar=None,
        slices=(),
        worst_slice=None,
        improved=False,
        improved_by=None,
        breaks_little=False,
        slices_hold=False,
        passes=False,
        broken_rows=np.zeros(0, dtype=np.int64),
        reasons=(f"Not weighed: {why}.",),
        verdict=CANNOT_TELL,
    )


def _with_reasons(
    result: GateResult, *, settings: GateSettings, no_ci: str | None, noun: str
) -> GateResult:
    """The verdict in words, one sentence per condition."""
    reasons: list[str] = []
    if result.improved_by == "bootstrap":
        reasons.append(f"Better: the interval of the {result.metric} difference is above 0.")
    elif result.improved_by == "mcnemar":
        assert result.mcnemar is not None and result.mcnemar.p is not None
        reasons.append(
            f"Better by McNemar's test: {result.mcnemar.fixes} fixed against "
            f"{result.mcnemar.breaks} broken {noun}s (p = {result.mcnemar.p:.3g})."
        )
    elif result.ci is not None:
        reasons.append(
            f"Not shown better: the interval of the {result.metric} difference reaches "
            f"{result.ci[0]:.4g} (it must be above 0)."
        )
    else:
        reasons.append(
            f"Not shown better: {no_ci or 'no interval'}, and McNemar's test did not show it."
        )
    reasons.append(_nfr_reason(result, settings=settings, noun=noun))
    failing = [s for s in result.slices if s.broken]
    if failing and result.floor:
        worst = min(failing, key=lambda s: (s.p, -s.nfr))
        reasons.append(
            f"Against the trivial baseline the slices are reported, not required: "
            f"{worst.column} = {worst.value} has {worst.breaks} of {worst.rows} {noun}s broken."
        )
    elif failing:
        worst = min(failing, key=lambda s: (s.p, -s.nfr))
        reasons.append(
            f"A slice breaks: {worst.column} = {worst.value} ({worst.breaks} of {worst.rows} "
            f"{noun}s broken, NFR {worst.nfr:.4f}: above epsilon {settings.epsilon:g} by "
            f"Holm's test at {settings.alpha:g}, p = {worst.p:.3g})."
        )
    return replace(result, reasons=tuple(reasons))
