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
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from kinds import kind_get, metric_info
from leaderboard.core.bootstrap import _tail_index, bootstrap_leaderboard, has_bootstrap

NFR_LEVEL = 0.95  # the NFR and PFR intervals (two-sided Clopper-Pearson)
MIN_SLICE_ROWS = 30
MAX_SLICES = 1000  # the largest slices are kept beyond this many
MAX_BROKEN_IDS = 100
DEFAULT_EPSILON = 0.02
MAX_ROWS_NEEDED = 2**62  # rows_needed's search stops here (an NFR a hair below epsilon)

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
class McNemar:
    """Fixed and broken units and the exact two-sided p-value (1.0 without any flip; None
    where the kind's outputs are no labels and the test does not apply)."""

    fixes: int
    breaks: int
    p: float | None


@dataclass(frozen=True, kw_only=True)
class SliceVerdict:
    """One value of one slice column: its units, breaks, NFR, the upper end of the NFR's
    95% interval, the exact p-value of "NFR > epsilon" and whether Holm's step-down finds
    it broken."""

    column: str
    value: str
    rows: int
    breaks: int
    nfr: float
    nfr_upper: float
    p: float
    broken: bool

    def as_json(self) -> dict[str, Any]:
        """The release check's slice object: column, value, rows, nfr, nfr_upper."""
        return {
            "column": self.column,
            "value": self.value,
            "rows": self.rows,
            "nfr": self.nfr,
            "nfr_upper": self.nfr_upper,
        }


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


def _interval(count: int, n: int) -> tuple[float, float]:
    # Imported here, as scipy.stats below: they cost every process's start (the platform's
    # receivers import this module) about a second, and most commands never gate anything.
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(count, n, alpha=1 - NFR_LEVEL, method="beta")
    return float(low), float(high)


def _upper(breaks: float, n: int, level: float) -> float:
    """The upper end of the two-sided Clopper-Pearson interval at ``level`` of ``breaks``
    (any real count in [0, n]) among ``n``: the beta quantile statsmodels' ``"beta"`` uses."""
    from scipy import stats

    if breaks >= n:
        return 1.0
    return float(stats.beta.isf((1 - level) / 2, breaks + 1, n - breaks))


def rows_needed(*, nfr: float, epsilon: float, level: float = NFR_LEVEL) -> int | None:
    """The fewest units ``n`` of a split at which the NFR's upper bound (two-sided
    Clopper-Pearson at ``level``) of an entry breaking the share ``nfr`` of them (``nfr * n``
    units, as a real count) is at most ``epsilon``; None when no size does (``nfr >=
    epsilon``). The bound falls as ``n`` grows at a fixed share, so a doubling search and
    a bisection find it. With nothing broken it is ``ceil(log((1 - level) / 2) / log(1 -
    epsilon))``: 183 at epsilon 0.02."""
    if not (0 <= nfr < epsilon < 1):
        return None

    def holds(n: int) -> bool:
        return _upper(nfr * n, n, level) <= epsilon

    high = 1
    while not holds(high):
        if high >= MAX_ROWS_NEEDED:
            return None
        high *= 2
    low = high // 2  # fails (or 0)
    while high - low > 1:
        middle = (low + high) // 2
        if holds(middle):
            high = middle
        else:
            low = middle
    return high


def pass_probability(*, n: int, nfr: float, epsilon: float, level: float = NFR_LEVEL) -> float:
    """The chance that a split of ``n`` units bounds the NFR at ``epsilon`` when the entry
    truly breaks the share ``nfr``: P(X <= x) for X ~ Binomial(n, nfr), where x is the most
    breaks whose Clopper-Pearson upper bound is still at most ``epsilon`` (the power of the
    NFR rule at that size; ``rows_needed`` at an observed share gives about one half once
    something broke)."""
    from scipy import stats

    if n <= 0 or _upper(0, n, level) > epsilon:
        return 0.0
    low, high = 0, n  # the bound grows with the count: the largest count that holds
    while high - low > 1:
        middle = (low + high) // 2
        if _upper(middle, n, level) <= epsilon:
            low = middle
        else:
            high = middle
    most = high if _upper(high, n, level) <= epsilon else low
    return float(stats.binom.cdf(most, n, nfr))


def mcnemar_exact(fixes: int, breaks: int) -> McNemar:
    """McNemar's exact test: two-sided binomial test of ``breaks`` among ``fixes + breaks``
    at 1/2 (the same p as statsmodels' ``mcnemar(exact=True)``)."""
    from scipy import stats

    total = fixes + breaks
    p = 1.0 if total == 0 else float(stats.binomtest(breaks, total, 0.5).pvalue)
    return McNemar(fixes=int(fixes), breaks=int(breaks), p=min(p, 1.0))


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


@dataclass(frozen=True)
class SliceColumn:
    """A slice column's value per row as codes into ``names`` (-1: no value, no slice)."""

    codes: np.ndarray
    names: Sequence[str]

    def take(self, positions: np.ndarray) -> SliceColumn:
        return SliceColumn(np.asarray(self.codes)[positions], self.names)

    @classmethod
    def of(cls, values: Sequence[Any] | np.ndarray) -> SliceColumn:
        """From plain values (None and NaN: no value), for tests and small inputs."""
        values = np.asarray(values, dtype=object)
        present = np.array([v is not None and v == v for v in values], dtype=bool)
        codes = np.full(values.shape[0], -1, dtype=np.int64)
        names: list[str] = []
        if present.any():
            uniques, inverse = np.unique(values[present].astype(str), return_inverse=True)
            codes[present] = inverse
            names = [str(u) for u in uniques]
        return cls(codes, names)


def slice_verdicts(
    *,
    slices: Mapping[str, SliceColumn],
    broken: np.ndarray,
    units: np.ndarray | None,
    n_units: int,
    epsilon: float,
    alpha: float,
    min_rows: int = MIN_SLICE_ROWS,
) -> list[SliceVerdict]:
    """Every slice with at least ``min_rows`` units, each tested for "NFR > epsilon" with
    Holm's step-down at ``alpha`` (module docstring).

    ``slices`` maps a column to its codes per row; ``broken`` is per unit. A unit is in a
    slice when one of its rows is.
    """
    found: list[tuple[str, str, int, int]] = []
    width = max(n_units, 1)
    for column, values in slices.items():
        codes = np.asarray(values.codes, dtype=np.int64)
        present = codes >= 0
        if not present.any():
            continue
        unit_of = np.flatnonzero(present) if units is None else units[present]
        pairs = np.unique(codes[present] * width + unit_of)
        slice_code, slice_unit = pairs // width, pairs % width
        sizes = np.bincount(slice_code, minlength=len(values.names))
        breaks = np.bincount(slice_code, weights=broken[slice_unit], minlength=len(values.names))
        for i, name in enumerate(values.names):
            if sizes[i] >= min_rows:
                found.append((column, str(name), int(sizes[i]), int(breaks[i])))
    if len(found) > MAX_SLICES:
        found = sorted(found, key=lambda s: -s[2])[:MAX_SLICES]
    from scipy import stats

    p_values = [float(stats.binom.sf(b - 1, n, epsilon)) if b else 1.0 for *_, n, b in found]
    broken_slices = holm_rejections(p_values, alpha=alpha)
    out = [
        SliceVerdict(
            column=column,
            value=value,
            rows=n,
            breaks=b,
            nfr=b / n,
            nfr_upper=_interval(b, n)[1],
            p=p_values[i],
            broken=broken_slices[i],
        )
        for i, (column, value, n, b) in enumerate(found)
    ]
    return sorted(out, key=lambda s: (s.column, s.value))


def holm_rejections(p_values: Sequence[float], *, alpha: float) -> list[bool]:
    """Holm's step-down: sorted by p, the i-th smallest (0-based) of m is rejected while
    every p so far is at most ``alpha / (m - i)``; the first that is not stops it.

    The same decisions as statsmodels' ``multipletests(method="holm")`` (a test compares
    them), written here because that function runs a full ``gc.collect()`` on every call:
    0.15 s in a web process, for a few comparisons."""
    m = len(p_values)
    rejected = [False] * m
    for rank, i in enumerate(sorted(range(m), key=lambda i: p_values[i])):
        if p_values[i] > alpha / (m - rank):
            break
        rejected[i] = True
    return rejected


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
        test = mcnemar_exact(n_fixed, n_broken)
    else:
        test = McNemar(fixes=n_fixed, breaks=n_broken, p=None)
    by_bootstrap = ci is not None and ci[0] > 0
    by_mcnemar = test.p is not None and test.p <= settings.alpha and n_fixed > n_broken
    nfr_ci = _interval(n_broken, n_units)
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
        pfr_ci=_interval(n_fixed, n_units),
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
