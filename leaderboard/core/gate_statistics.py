"""The statistical tests behind the champion gate's rules (pure: numpy, scipy,
statsmodels; the method and its levels in docs/organizers/champion-gate.md), which
:mod:`leaderboard.core.gate` combines into a verdict: the NFR's two-sided Clopper-Pearson
interval (:func:`clopper_pearson`), the split size that would bound it
(:func:`rows_needed`) and the chance a split of a size does (:func:`pass_probability`);
McNemar's exact test (:func:`mcnemar_exact`); and every slice's exact binomial test of
"NFR > epsilon" under Holm's step-down (:func:`slice_verdicts`, :func:`holm_rejections`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

NFR_LEVEL = 0.95  # the NFR and PFR intervals (two-sided Clopper-Pearson)
MIN_SLICE_ROWS = 30
MAX_SLICES = 1000  # the largest slices are kept beyond this many
MAX_ROWS_NEEDED = 2**62  # rows_needed's search stops here (an NFR a hair below epsilon)


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


def clopper_pearson(*, count: int, n: int) -> tuple[float, float]:
    """The two-sided Clopper-Pearson interval at :data:`NFR_LEVEL` of ``count`` among ``n``."""
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


def mcnemar_exact(*, fixes: int, breaks: int) -> McNemar:
    """McNemar's exact test: two-sided binomial test of ``breaks`` among ``fixes + breaks``
    at 1/2 (the same p as statsmodels' ``mcnemar(exact=True)``)."""
    from scipy import stats

    total = fixes + breaks
    p = 1.0 if total == 0 else float(stats.binomtest(breaks, total, 0.5).pvalue)
    return McNemar(fixes=int(fixes), breaks=int(breaks), p=min(p, 1.0))


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
    broken_slices = holm_rejections(p_values=p_values, alpha=alpha)
    out = [
        SliceVerdict(
            column=column,
            value=value,
            rows=n,
            breaks=b,
            nfr=b / n,
            nfr_upper=clopper_pearson(count=b, n=n)[1],
            p=p_values[i],
            broken=broken_slices[i],
        )
        for i, (column, value, n, b) in enumerate(found)
    ]
    return sorted(out, key=lambda s: (s.column, s.value))


def holm_rejections(*, p_values: Sequence[float], alpha: float) -> list[bool]:
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
