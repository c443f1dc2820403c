"""The champion gate's core (``leaderboard.core.gate``) on planted arrays, each kind with its
own flip (``TaskKind.gate_flips``): regression's tolerance, matching's pair, grouping's
entity membership; the figures against independent numpy/scipy computations; declines."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from kinds import kind_get
from leaderboard.core.gate import GateSettings, gate_evaluate
from leaderboard.core.gate_statistics import SliceColumn, mcnemar_exact

ALL = None


def everything(n: int) -> np.ndarray:
    return np.ones(n, dtype=bool)


def bootstrap_ci(statistic, n: int, alpha: float = 0.05, b: int = 1000, seed: int = 0):
    """The documented paired bootstrap by hand: resample b is child b of SeedSequence(seed)."""
    values = []
    for child in np.random.SeedSequence(seed).spawn(b):
        idx = np.random.Generator(np.random.PCG64(child)).integers(0, n, size=n)
        values.append(statistic(idx))
    values = np.sort(values)
    k = math.ceil(alpha / 2 * b)
    return values[k - 1], values[b - k]


def clopper_pearson(count: int, n: int) -> tuple[float, float]:
    low = 0.0 if count == 0 else stats.beta.ppf(0.025, count, n - count + 1)
    high = 1.0 if count == n else stats.beta.ppf(0.975, count + 1, n - count)
    return low, high


# --- regression: an error grown past the tolerance --------------------------------------


def test_regression_flips_are_errors_grown_past_the_tolerance_and_the_rmse_decides():
    rng = np.random.default_rng(3)
    n, tolerance = 1500, 0.5
    y = rng.normal(10, 3, n)
    champion = y + rng.normal(0, 1.0, n)
    new = y + (champion - y) * 0.5  # every error halved...
    grown_a_little = rng.random(n) < 0.1  # ...but some grow by less than the tolerance
    new[grown_a_little] = y[grown_a_little] + np.sign(champion - y)[grown_a_little] * (
        np.abs(champion - y)[grown_a_little] + 0.4
    )
    broken = rng.random(n) < 0.004  # and a few grow by more
    new[broken] = champion[broken] + np.sign(champion - y)[broken] * 2.0
    result = gate_evaluate(
        kind="regression",
        metric="rmse",
        y=y,
        new=new,
        champion=champion,
        rows=everything(n),
        options={"tolerance": tolerance},
    )
    growth = np.abs(new - y) - np.abs(champion - y)
    assert result.mcnemar.breaks == int((growth > tolerance).sum()) == int(broken.sum())
    assert result.mcnemar.fixes == int((-growth > tolerance).sum())
    assert result.mcnemar.p is None  # numbers are no labels
    rmse = lambda e: np.sqrt(np.mean(e**2))  # noqa: E731
    old_e, new_e = champion - y, new - y
    assert result.difference == pytest.approx(rmse(old_e) - rmse(new_e), rel=1e-12)
    low, high = bootstrap_ci(lambda i: rmse(old_e[i]) - rmse(new_e[i]), n)
    assert result.ci == pytest.approx((low, high), rel=1e-9)
    assert result.nfr_ci == pytest.approx(clopper_pearson(int(broken.sum()), n))
    assert result.improved_by == "bootstrap" and result.passes
    # A wider tolerance: none of them is a flip; a tolerance of 0 makes every growth one.
    wide = gate_evaluate(
        kind="regression",
        metric="rmse",
        y=y,
        new=new,
        champion=champion,
        rows=everything(n),
        options={"tolerance": 100.0},
    )
    assert wide.mcnemar.breaks == wide.mcnemar.fixes == 0
    strict = gate_evaluate(
        kind="regression",
        metric="rmse",
        y=y,
        new=new,
        champion=champion,
        rows=everything(n),
        options={"tolerance": 0.0},
    )
    assert strict.mcnemar.breaks == int((growth > 0).sum()) > 100
    assert not strict.passes and not strict.breaks_little


# --- matching: the pair ---------------------------------------------------------------------


def test_matching_flips_are_pairs_decided_right_and_mcnemar_can_show_the_improvement():
    y = np.array([1, 1, 0, 0, 1, 0] * 200)
    champion = y.copy()
    champion[::10] = 1 - champion[::10]  # wrong on 120 pairs
    new = y.copy()
    new[5::50] = 1 - new[5::50]  # wrong on 24 other pairs
    fixes, breaks = kind_get("matching").gate_flips(y, new, champion, {})
    assert fixes.sum() == 120 and breaks.sum() == 24
    assert np.all(breaks == ((champion == y) & (new != y)))
    result = gate_evaluate(
        kind="matching",
        metric="precision",  # no bootstrap of precision: McNemar decides alone
        y=y,
        new=new,
        champion=champion,
        rows=everything(len(y)),
        settings=GateSettings(epsilon=0.05),
        scores=(0.9, 0.95),
    )
    assert result.ci is None and result.difference == pytest.approx(0.05)
    p = stats.binomtest(24, 144, 0.5).pvalue
    assert result.mcnemar.p == pytest.approx(p) and p < 0.05
    assert result.improved_by == "mcnemar" and result.passes
    assert "Better by McNemar's test: 120 fixed against 24 broken pairs" in result.reasons[0]
    assert mcnemar_exact(fixes=0, breaks=0).p == 1.0


# --- grouping: the entity's membership -------------------------------------------------


def test_grouping_flips_are_entity_memberships_and_entities_are_the_unit():
    # 6 entities: 0 (3 records), 1 (2), 2 (2), 3 (1), 4 (2), 5 (2); a slice value per record.
    y = np.array([0, 0, 0, 1, 1, 2, 2, 3, 4, 4, 5, 5])
    champion = np.array([10, 10, 10, 11, 11, 12, 13, 14, 15, 15, 16, 16])  # 2 split apart
    new = np.array([10, 10, 10, 11, 11, 12, 12, 14, 15, 15, 15, 15])  # 2 fixed; 4 and 5 merged
    fixes, breaks = kind_get("grouping").gate_flips(y, new, champion, {})
    assert fixes.tolist() == [r in (5, 6) for r in range(12)]  # entity 2's records
    assert breaks.tolist() == [r in (8, 9, 10, 11) for r in range(12)]  # entities 4 and 5
    color = SliceColumn.of(["a", "a", "b", "a", "a", "b", "b", "a", "b", "b", "a", "a"])
    result = gate_evaluate(
        kind="grouping",
        metric="pairwise_f1",
        y=y,
        new=new,
        champion=champion,
        rows=everything(len(y)),
        slices={"color": color},
        settings=GateSettings(min_slice_rows=1, n_resamples=200),
    )
    assert result.units == 6  # entities, not records
    assert (result.mcnemar.fixes, result.mcnemar.breaks, result.mcnemar.p) == (1, 2, None)
    assert result.nfr == pytest.approx(2 / 6)
    assert result.nfr_ci == pytest.approx(clopper_pearson(2, 6))
    by_value = {s.value: s for s in result.slices}
    # An entity is in a slice when one of its records is: a = {0, 1, 3, 5}, b = {0, 2, 4}.
    assert (by_value["a"].rows, by_value["a"].breaks) == (4, 1)
    assert (by_value["b"].rows, by_value["b"].breaks) == (3, 1)
    assert not result.passes
    # Names of clusters do not matter: the same grouping under other ids flips nothing.
    renamed = gate_evaluate(
        kind="grouping",
        metric="pairwise_f1",
        y=y,
        new=champion * 7 + 3,
        champion=champion,
        rows=everything(len(y)),
        settings=GateSettings(n_resamples=50),
    )
    assert renamed.mcnemar.fixes == renamed.mcnemar.breaks == 0


# --- slices and declines ------------------------------------------------------------------


def test_small_slices_are_left_out_and_a_broken_one_is_named_by_holm():
    rng = np.random.default_rng(5)
    n = 3000
    y = rng.integers(0, 3, n)
    champion = np.where(rng.random(n) < 0.1, (y + 1) % 3, y)
    values = np.where(np.arange(n) % 50 == 0, "rare", np.where(np.arange(n) % 2, "x", "y"))
    values[:20] = "tiny"
    new = champion.copy()
    fixed = (champion != y) & (rng.random(n) < 0.7)
    new[fixed] = y[fixed]
    rare_right = (values == "rare") & (champion == y)
    broken = rare_right & (np.cumsum(rare_right) % 4 == 0)
    new[broken] = (y[broken] + 1) % 3
    result = gate_evaluate(
        kind="classification",
        metric="accuracy",
        y=y,
        new=new,
        champion=champion,
        rows=everything(n),
        slices={"part": SliceColumn.of(values)},
    )
    assert [s.value for s in result.slices] == ["rare", "x", "y"]  # "tiny" has 20 rows
    rare = next(s for s in result.slices if s.value == "rare")
    assert rare.breaks == int(broken.sum()) and rare.broken
    assert rare.p == pytest.approx(stats.binom.sf(rare.breaks - 1, rare.rows, 0.02))
    assert result.worst_slice is rare and result.breaks_little and not result.slices_hold
    assert not result.passes


def test_nothing_to_compare_is_declined_with_a_reason():
    y = np.array([0, 1, 2])
    result = gate_evaluate(
        kind="classification",
        metric="accuracy",
        y=y,
        new=y,
        champion=y,
        rows=np.zeros(3, dtype=bool),
    )
    assert not result.passes and result.nfr is None and result.ci is None
    assert result.reasons == ("Not weighed: there are no rows to compare on this split.",)
    with pytest.raises(ValueError, match="same length"):
        gate_evaluate(
            kind="classification", metric="accuracy", y=y, new=y[:2], champion=y, rows=[1, 1, 1]
        )
    with pytest.raises(ValueError, match="epsilon"):
        GateSettings(epsilon=2)


def test_holm_decides_as_statsmodels_does(monkeypatch):
    from statsmodels.stats.multitest import multipletests

    monkeypatch.setattr("gc.collect", lambda *args: 0)  # its one cost, nothing it decides

    from leaderboard.core.gate_statistics import holm_rejections

    rng = np.random.default_rng(9)
    for m in (1, 2, 5, 30):
        for _ in range(200):
            p = rng.beta(0.3, 1.0, m)  # many small p-values, some ties at rounding
            p = np.round(p, 3)
            expected, *_ = multipletests(p, alpha=0.05, method="holm")
            assert holm_rejections(p_values=list(p), alpha=0.05) == expected.tolist()
    assert holm_rejections(p_values=[], alpha=0.05) == []
