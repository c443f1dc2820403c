"""Coverage by simulation of every figure the champion gate reports
(docs/organizers/champion-gate.md): the truth is planted, the gate runs on many samples, and the
share of samples where the figure holds the truth (or the verdict is wrong) is counted against a
stated tolerance.

Monte Carlo error: with R repetitions a share near 0.95 has a standard error of
sqrt(0.95 * 0.05 / R) (0.011 at R = 400); the bounds below leave about 2.5 of them.
"""

from __future__ import annotations

import numpy as np
import pytest

from leaderboard.core.gate import GateSettings, gate_evaluate
from leaderboard.core.gate_statistics import SliceColumn


def _labels(rng: np.random.Generator, n: int, p_fix: float, p_break: float, p_both_wrong=0.05):
    """Truth, champion and new entry of ``n`` rows: each row independently both right,
    fixed (champion wrong, new right), broken (the reverse) or both wrong."""
    y = rng.integers(0, 3, n)
    kind = rng.choice(
        4, size=n, p=[1 - p_fix - p_break - p_both_wrong, p_fix, p_break, p_both_wrong]
    )
    champion, new = y.copy(), y.copy()
    champion[(kind == 1) | (kind == 3)] += 1
    new[(kind == 2) | (kind == 3)] += 1
    return y, champion % 3, new % 3


def test_the_nfr_and_pfr_intervals_cover_the_planted_rates():
    rng = np.random.default_rng(101)
    reps = 400
    for n, p_break, p_fix in ((300, 0.01, 0.06), (1200, 0.03, 0.02)):
        hit_nfr = hit_pfr = 0
        for _ in range(reps):
            y, champion, new = _labels(rng, n, p_fix, p_break)
            result = gate_evaluate(
                kind="classification",
                metric="macro_f1",  # no bootstrap needed for the flip intervals
                y=y,
                new=new,
                champion=champion,
                rows=np.ones(n, dtype=bool),
            )
            hit_nfr += result.nfr_ci[0] <= p_break <= result.nfr_ci[1]
            hit_pfr += result.pfr_ci[0] <= p_fix <= result.pfr_ci[1]
        # Clopper-Pearson is exact (never below 95%), so the bound is one-sided.
        assert hit_nfr / reps >= 0.93, (n, hit_nfr / reps)
        assert hit_pfr / reps >= 0.93, (n, hit_pfr / reps)


def test_at_an_nfr_of_exactly_epsilon_the_gate_says_it_breaks_little_at_most_2_5_percent():
    rng = np.random.default_rng(7)
    reps, n, epsilon = 600, 1000, 0.02
    passed = 0
    for _ in range(reps):
        y, champion, new = _labels(rng, n, 0.08, epsilon)
        result = gate_evaluate(
            kind="classification",
            metric="macro_f1",
            y=y,
            new=new,
            champion=champion,
            rows=np.ones(n, dtype=bool),
            settings=GateSettings(epsilon=epsilon),
        )
        passed += result.breaks_little
    assert passed / reps <= 0.025 + 0.02, passed / reps


def test_the_difference_interval_covers_the_planted_difference():
    rng = np.random.default_rng(11)
    reps, n = 300, 600
    p_fix, p_break = 0.08, 0.03  # accuracy(new) - accuracy(champion) = 0.05 in the population
    hits = 0
    for _ in range(reps):
        y, champion, new = _labels(rng, n, p_fix, p_break)
        result = gate_evaluate(
            kind="classification",
            metric="accuracy",
            y=y,
            new=new,
            champion=champion,
            rows=np.ones(n, dtype=bool),
            settings=GateSettings(seed=int(rng.integers(1 << 30))),
        )
        hits += result.ci[0] <= p_fix - p_break <= result.ci[1]
    assert hits / reps >= 0.92, hits / reps


def test_the_rmse_difference_interval_covers_the_planted_difference():
    rng = np.random.default_rng(12)
    reps, n = 200, 800
    hits = 0
    for _ in range(reps):
        y = rng.normal(0, 5, n)
        champion = y + rng.normal(0, 1.0, n)
        new = y + rng.normal(0, 0.9, n)  # population RMSE 1.0 against 0.9: 0.1 better
        result = gate_evaluate(
            kind="regression",
            metric="rmse",
            y=y,
            new=new,
            champion=champion,
            rows=np.ones(n, dtype=bool),
            options={"tolerance": 0.5},
            settings=GateSettings(seed=int(rng.integers(1 << 30))),
        )
        hits += result.ci[0] <= 0.1 <= result.ci[1]
    assert hits / reps >= 0.90, hits / reps


def test_with_no_real_improvement_the_gate_claims_one_at_most_at_its_level():
    """Fixes and breaks equally likely (no difference in the population): the bootstrap's
    lower end above 0, or McNemar's test with more fixes, happens at most about alpha/2 +
    alpha/2 of the time (each one-sided side at alpha/2)."""
    rng = np.random.default_rng(13)
    reps, n = 400, 800
    claimed = 0
    for _ in range(reps):
        y, champion, new = _labels(rng, n, 0.04, 0.04)
        result = gate_evaluate(
            kind="classification",
            metric="accuracy",
            y=y,
            new=new,
            champion=champion,
            rows=np.ones(n, dtype=bool),
            settings=GateSettings(n_resamples=500, seed=int(rng.integers(1 << 30))),
        )
        claimed += result.improved
    assert claimed / reps <= 0.05 + 0.025, claimed / reps


@pytest.mark.parametrize("m", [1, 5])
def test_slices_at_epsilon_are_called_broken_at_most_at_the_family_level(m):
    """Every slice's NFR exactly epsilon (no slice truly broken): Holm keeps the chance that
    any slice is named broken within alpha."""
    rng = np.random.default_rng(17 + m)
    reps, per_slice, epsilon = 400, 200, 0.02
    n = m * per_slice
    values = SliceColumn(np.repeat(np.arange(m), per_slice), [f"s{i}" for i in range(m)])
    flagged = 0
    for _ in range(reps):
        y, champion, new = _labels(rng, n, 0.05, epsilon)
        result = gate_evaluate(
            kind="classification",
            metric="macro_f1",
            y=y,
            new=new,
            champion=champion,
            rows=np.ones(n, dtype=bool),
            slices={"part": values},
        )
        flagged += not result.slices_hold
    assert flagged / reps <= 0.05 + 0.02, flagged / reps


def test_a_broken_slice_of_60_rows_is_found():
    rng = np.random.default_rng(23)
    reps = 200
    found = 0
    codes = np.concatenate([np.zeros(60, dtype=int), np.ones(1500, dtype=int)])
    values = SliceColumn(codes, ["small", "large"])
    for _ in range(reps):
        y, champion, new = _labels(rng, 1560, 0.05, 0.002)
        breaks = rng.random(60) < 0.2  # a fifth of the small slice broken
        new[:60][breaks] = (champion[:60][breaks] + 1) % 3
        result = gate_evaluate(
            kind="classification",
            metric="macro_f1",
            y=y,
            new=new,
            champion=champion,
            rows=np.ones(1560, dtype=bool),
            slices={"part": values},
        )
        found += any(s.broken and s.value == "small" for s in result.slices)
    assert found / reps >= 0.9, found / reps
