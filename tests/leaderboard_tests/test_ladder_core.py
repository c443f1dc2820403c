"""The ladder's pure rules (``leaderboard.core.ladder``, docs/organizers/ladder.md): the rounding,
the one-standard-error rule against scipy's paired t statistic, a one-row difference that never
climbs, the DREAM rule, and the first-order expansions against independent derivatives."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from kinds import kind_get
from kinds.classification import MacroF1
from kinds.grouping.bootstrap import grouping_paired_linearization
from leaderboard.core import ladder


@pytest.mark.parametrize(
    ("units", "step"),
    [(1, 1.0), (99, 0.1), (100, 0.1), (2000, 0.01), (10_000, 0.01), (10_001, 0.001),
     (1_000_000, 0.001), (1_000_001, 0.0001)],
)  # fmt: skip
def test_resolution_is_one_over_root_n_rounded_down_to_a_decimal_step(units, step):
    assert ladder.resolution(units) == pytest.approx(step)
    assert ladder.resolution(units) <= 1 / math.sqrt(units) + 1e-15


def test_shown_scores_are_the_nearest_multiple_of_the_step_written_short():
    assert ladder.rounded(0.5249, 2000) == 0.52
    assert ladder.rounded(0.5251, 2000) == 0.53
    assert ladder.rounded(0.53000001, 2000) == 0.53
    assert repr(ladder.rounded(0.8985, 2000)) == "0.9"
    assert ladder.rounded(12.3456, 100) == 12.3


def test_the_rule_is_a_paired_t_statistic_above_one_as_scipy_computes_it():
    rng = np.random.default_rng(3)
    agree = 0
    for _ in range(400):
        n = int(rng.integers(20, 400))
        old = (rng.random(n) < rng.uniform(0.2, 0.8)).astype(float)
        new = np.where(rng.random(n) < rng.uniform(0, 0.2), 1 - old, old)  # a few rows moved
        t = stats.ttest_rel(new, old).statistic  # (mean d) / (sd(d, ddof=1) / sqrt(n))
        climbed, se = ladder.t_rule(delta=float((new - old).sum()) / n, influence=(new - old) / n)
        expected = bool(np.isfinite(t) and t > 1)
        assert climbed == expected
        if np.isfinite(t) and t != 0:
            assert se == pytest.approx(abs((new - old).mean() / t))
        agree += climbed
    assert 20 < agree < 380  # both outcomes met


@pytest.mark.parametrize("kind, metric", [
    ("classification", "accuracy"), ("classification", "macro_f1"), ("matching", "f1"),
    ("regression", "rmse"), ("regression", "r2"),
])  # fmt: skip
def test_one_row_that_differs_never_climbs(kind, metric):
    statistic = kind_get(kind).ladder_statistic(metric, classes=["a", "b", "c"])
    higher = kind_get(kind).metric(metric).higher_is_better
    rng = np.random.default_rng(5)
    for trial in range(60):
        n = int(rng.integers(50, 3000))
        if kind == "regression":
            y = rng.normal(size=n)
            old = y + rng.normal(size=n)
            new = old.copy()
            row = int(rng.integers(n))
            new[row] = y[row] + (0 if trial % 2 else 3.0)  # the row fixed, or broken
        else:
            classes = 3 if kind == "classification" else 2
            y = rng.integers(0, classes, n)
            old = rng.integers(0, classes, n)
            new = old.copy()
            row = int(rng.integers(n))
            new[row] = y[row] if trial % 2 else (y[row] + 1) % classes
        delta, influence = ladder.paired_linearization(
            y=y, new=new, old=old, statistic=statistic, sign=1.0 if higher else -1.0
        )
        assert not ladder.t_rule(delta=delta, influence=influence)[0]


def test_two_rows_better_climb_under_a_mean_of_losses():
    y = np.zeros(1000, dtype=np.int64)
    old = np.ones(1000, dtype=np.int64)
    new = old.copy()
    new[:2] = 0
    statistic = kind_get("classification").statistic("accuracy")
    delta, influence = ladder.paired_linearization(
        y=y, new=new, old=old, statistic=statistic, sign=1.0
    )
    assert delta == pytest.approx(0.002)
    assert ladder.t_rule(delta=delta, influence=influence)[0]


def _f1_gradient(tp, pp, positives):
    """d F1 / d (tp, pp) of F1 = 2 tp / (pp + positives), by hand."""
    denominator = pp + positives
    return np.array([2 / denominator, -2 * tp / denominator**2])


def test_f1_rows_are_the_gradient_at_the_midpoint_times_the_columns():
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 800)
    old = rng.integers(0, 2, 800)
    new = np.where(rng.random(800) < 0.3, y, old)
    statistic = kind_get("matching").statistic("f1")
    delta, influence = ladder.paired_linearization(
        y=y, new=new, old=old, statistic=statistic, sign=1.0
    )
    columns = [np.stack([(p == 1) & (y == 1), p == 1]).astype(float) for p in (new, old)]
    middle = (columns[0].sum(axis=1) + columns[1].sum(axis=1)) / 2
    gradient = _f1_gradient(middle[0], middle[1], float(y.sum()))
    expected = gradient @ (columns[0] - columns[1])
    np.testing.assert_allclose(influence, expected, rtol=1e-6, atol=1e-12)
    assert delta == pytest.approx(expected.sum(), rel=1e-6)


def test_macro_f1_matches_scikit_learn_and_its_rows_use_only_their_classes():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(2)
    y, pred = rng.integers(0, 4, 500), rng.integers(0, 4, 500)
    statistic = MacroF1(5)  # one class absent everywhere: an F1 of 0 in the mean
    sums = statistic.entry_sums(y, pred)[None, None, :]
    score = statistic.scores(sums, statistic.shared_sums(y)[None, :], 500.0)[0, 0]
    expected = f1_score(y, pred, labels=range(5), average="macro", zero_division=0)
    assert score == pytest.approx(expected)
    weights = rng.normal(size=10)
    columns = np.empty((10, 500))
    statistic.entry_columns(y, pred, columns)
    np.testing.assert_allclose(statistic.row_linear(y, pred, weights), weights @ columns)


def _pair_counts(weights, entities, clusters):
    """(TP, true pairs, cross pairs) by enumerating every pair of records, weighted as the
    entity bootstrap weighs them: a pair inside entity e by w_e, a pair of entities e != f
    sharing a cluster by w_e * w_f (kinds.grouping.bootstrap's docstring)."""
    tp = true = cross = 0.0
    n = entities.size
    for i in range(n):
        for j in range(i + 1, n):
            e, f = entities[i], entities[j]
            if e == f:
                true += weights[e]
                tp += weights[e] * (clusters[i] == clusters[j])
            elif clusters[i] == clusters[j]:
                cross += weights[e] * weights[f]
    return tp, true, cross


def test_the_grouping_expansion_is_the_derivative_of_the_entity_bootstrap():
    from kinds.grouping.metrics import grouping_metrics

    rng = np.random.default_rng(4)
    sizes = rng.integers(1, 5, 30)
    entities = np.repeat(np.arange(30), sizes)
    old = np.where(rng.random(entities.size) < 0.3, rng.integers(0, 15, entities.size), entities)
    new = np.where(rng.random(entities.size) < 0.3, entities, old)
    delta, influence = grouping_paired_linearization(
        entities=entities, n_entities=30, new=new, old=old
    )
    ones = np.ones(30)
    counts = {name: _pair_counts(ones, entities, c) for name, c in (("new", new), ("old", old))}
    for name, clusters in (("new", new), ("old", old)):
        tp, true, cross = counts[name]
        assert 2 * tp / (true + tp + cross) == pytest.approx(
            grouping_metrics(entities, clusters)["pairwise_f1"]
        )
    true = counts["new"][1]
    tp, cross = ((counts["new"][k] + counts["old"][k]) / 2 for k in (0, 2))
    denominator = true + tp + cross
    d_tp, d_cross = 2 * (true + cross) / denominator**2, -2 * tp / denominator**2
    expected = d_tp * (counts["new"][0] - counts["old"][0])
    expected += d_cross * (counts["new"][2] - counts["old"][2])
    assert delta == pytest.approx(expected)
    for e in range(0, 30, 4):  # the pair counts' derivatives by this entity's weight
        up = ones.copy()
        up[e] += 1.0  # the counts are at most quadratic: a unit step, central, is exact
        down = ones.copy()
        down[e] -= 1.0
        change = {}
        for name, clusters in (("new", new), ("old", old)):
            hi, lo = _pair_counts(up, entities, clusters), _pair_counts(down, entities, clusters)
            change[name] = ((hi[0] - lo[0]) / 2, (hi[2] - lo[2]) / 2)
        expected = d_tp * (change["new"][0] - change["old"][0])
        expected += d_cross * (change["new"][1] - change["old"][1])
        assert influence[e] == pytest.approx(expected, abs=1e-12)


def test_the_bootstrap_rule_counts_a_tie_as_no_win():
    new = np.array([0.6] * 70 + [0.5] * 30)  # 70 wins, 30 ties: Bayes factor 70 / 30
    old = np.full(100, 0.5)
    decided = ladder.bootstrap_decision(
        new=new, old=old, higher_is_better=True, threshold=3, units=100
    )
    assert not decided.climbed and decided.bayes_factor == pytest.approx(70 / 30)
    new[70:80] = 0.6  # 80 wins, 20 ties: 4 > 3
    decided = ladder.bootstrap_decision(
        new=new, old=old, higher_is_better=True, threshold=3, units=100
    )
    assert decided.climbed and decided.wins == 80
    assert decided.shown_score == pytest.approx(new[:10].mean())
    lower = ladder.bootstrap_decision(
        new=-new, old=-old, higher_is_better=False, threshold=3, units=100
    )
    assert lower.climbed and lower.bayes_factor == pytest.approx(4.0)


def test_a_bootstrap_climb_needs_a_better_mean_too():
    new = np.array([0.51] * 80 + [0.0] * 20)  # wins 80 of 100 but loses badly on the rest
    old = np.full(100, 0.5)
    decided = ladder.bootstrap_decision(
        new=new, old=old, higher_is_better=True, threshold=3, units=100
    )
    assert decided.bayes_factor == pytest.approx(4.0) and not decided.climbed
