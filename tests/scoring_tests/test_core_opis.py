"""OPIS (docs/architecture.md §11) against hand-computed cases and a straightforward
implementation."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.core import Aligned, Solution, compute_metrics
from scoring.core.opis import (
    OpisSettings,
    f1_with_empty_as_one,
    opis_by_split,
    threshold_grid,
    utility_curves,
)

from .core_opis_helpers import naive_classification, naive_f1, naive_matching, naive_opis  # noqa: F401

# --- the definition, written as plainly as possible ------------------------------------










def rows_of(is_public: np.ndarray) -> dict[str, list[int]]:
    n = is_public.size
    return {
        "all": list(range(n)),
        "public": [i for i in range(n) if is_public[i]],
        "private": [i for i in range(n) if not is_public[i]],
    }


def assert_close(ours: float | None, expected: float | None) -> None:
    if expected is None:
        assert ours is None
    else:
        assert ours == pytest.approx(expected, rel=1e-9, abs=1e-12)


# --- hand-computed cases -------------------------------------------------------------


def test_two_groups_by_hand():
    # Range [0, 1], grid k/100. Group A: one positive at 1.0, right at every threshold.
    # Group B: one positive at 0.0, found only at t = 0. Pooled: F1 1 at t = 0, then 2/3.
    # A: (1 - 2/3)^2 = 1/9 from k = 1: trapezoid mean (1/18 + 99/9) / 100 = 199/1800.
    # B: (0 - 2/3)^2 = 4/9 from k = 1: (2/9 + 99 * 4/9) / 100 = 796/1800.
    settings_ = OpisSettings(range=(0.0, 1.0), min_group_rows=1, groups=np.array([0, 1]))
    got = opis_by_split(
        y=np.array([1, 1]),
        is_public=np.array([True, True]),
        settings=settings_,
        score=np.array([1.0, 0.0]),
    )
    assert got["all"] == pytest.approx((199 + 796) / 3600, rel=1e-12)
    assert got["public"] == got["all"]
    assert got["private"] is None  # no rows, so no group


def test_identical_class_curves_give_zero():
    # Class 0: positive at 0.8, negative at 0.2; class 1: negative at 0.2, positive at 0.8.
    curves = utility_curves(
        y=np.array([0, 1]),
        is_public=np.array([True, False]),
        settings=OpisSettings(min_group_rows=1),
        proba=np.array([[0.8, 0.2], [0.2, 0.8]]),
    )
    assert curves["all"].opis == 0.0
    np.testing.assert_array_equal(curves["all"].group_f1[0], curves["all"].pooled_f1)


def test_zero_over_zero_is_one():
    np.testing.assert_array_equal(
        f1_with_empty_as_one(np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([0, 0, 1])),
        [1.0, 0.0, 2 / 3],
    )
    # A group without a positive row (scores 0.01, 0.02 on the grid 0, 0.01, ...): false
    # positives up to t = 0.02, then nothing predicted and nothing to find: 0/0 = 1.
    curves = utility_curves(
        y=np.array([0, 0, 1, 1]),
        is_public=np.ones(4, bool),
        settings=OpisSettings(range=(0.0, 1.0), min_group_rows=1, groups=np.array([0, 0, 1, 1])),
        score=np.array([0.01, 0.02, 0.9, 0.9]),
    )["all"]
    np.testing.assert_array_equal(curves.group_f1[0], [0.0, 0.0, 0.0] + [1.0] * 98)
    assert list(curves.eligible) == [False, True, False]  # the last is "no group"
    # The group without positives is left out of OPIS but stays in the pool, where its
    # two false positives at t = 0 lower the pooled F1.
    assert curves.pooled_f1[0] == pytest.approx(2 * 2 / (2 * 2 + 2))
    assert curves.pooled_f1[3] == 1.0
    assert curves.opis == pytest.approx(curves.divergence[1])


def test_a_group_below_the_minimum_is_left_out():
    score = np.array([0.9, 0.1, 0.6, 0.7, 0.2, 0.3])
    y = np.array([1, 0, 1, 1, 0, 1])
    groups = np.array([0, 0, 0, 1, 1, 2])  # group 2 has one row
    opis3 = opis_by_split(
        y=y,
        is_public=np.ones(6, bool),
        score=score,
        settings=OpisSettings(min_group_rows=2, groups=groups),
    )["all"]
    opis1 = opis_by_split(
        y=y,
        is_public=np.ones(6, bool),
        score=score,
        settings=OpisSettings(min_group_rows=1, groups=groups),
    )["all"]
    rows = list(range(6))
    assert_close(opis3, naive_matching(score, y, groups, rows, 0.05, 0.95, 2))
    assert_close(opis1, naive_matching(score, y, groups, rows, 0.05, 0.95, 1))
    assert opis3 != opis1
    # Everything below the minimum: no OPIS at all.
    none = opis_by_split(
        y=y,
        is_public=np.ones(6, bool),
        score=score,
        settings=OpisSettings(min_group_rows=20, groups=groups),
    )
    assert none == {"all": None, "public": None, "private": None}


def test_empty_groups_and_rows_without_a_group():
    # Group names with no row at all (codes 1 and 3) and rows with no group (-1).
    score = np.array([0.9, 0.4, 0.8, 0.3, 0.5])
    y = np.array([1, 0, 1, 1, 0])
    groups = np.array([0, 0, 2, -1, 2])
    cfg = OpisSettings(min_group_rows=1, groups=groups, group_names=("a", "b", "c", "d"))
    curves = utility_curves(y=y, is_public=np.ones(5, bool), settings=cfg, score=score)["all"]
    assert curves.group_names[:4] == ("a", "b", "c", "d")
    assert list(curves.group_rows) == [2, 0, 2, 0, 1]
    assert list(curves.eligible) == [True, False, True, False, False]
    assert_close(curves.opis, naive_matching(score, y, groups, range(5), 0.05, 0.95, 1))


def test_grid_is_the_design_formula():
    grid = threshold_grid(0.05, 0.95)
    assert grid.size == 101 and grid[0] == 0.05 and grid[-1] == pytest.approx(0.95)
    assert list(grid) == [0.05 + k * (0.95 - 0.05) / 100 for k in range(101)]


def test_scores_exactly_on_a_threshold_count_as_positive():
    # score >= t: a score equal to t_k is positive at t_k.
    grid = threshold_grid(0.05, 0.95)
    score = np.array([grid[37], grid[37]])
    curves = utility_curves(
        y=np.array([1, 0]),
        is_public=np.ones(2, bool),
        score=score,
        settings=OpisSettings(min_group_rows=1, groups=np.array([0, 0])),
    )["all"]
    assert curves.group_f1[0, 37] == pytest.approx(2 / 3)
    assert curves.group_f1[0, 38] == 0.0


# --- random cases against the naive implementation --------------------------------------

scores_on_grid = st.sampled_from([0.0, 0.05, 0.14, 0.5, 0.5 + 1e-12, 0.95, 1.0])
any_score = st.floats(0, 1) | scores_on_grid


@st.composite
def matching_cases(draw):
    n = draw(st.integers(1, 60))
    score = np.array(draw(st.lists(any_score, min_size=n, max_size=n)))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    groups = np.array(draw(st.lists(st.integers(-1, 4), min_size=n, max_size=n)))
    is_public = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    lo = draw(st.sampled_from([0.0, 0.05, 0.3]))
    hi = draw(st.sampled_from([0.7, 0.95, 1.0]))
    min_rows = draw(st.integers(1, 8))
    return score, y, groups, is_public, lo, hi, min_rows


@settings(max_examples=150, deadline=None)
@given(matching_cases())
def test_matching_equals_the_naive_definition(case):
    score, y, groups, is_public, lo, hi, min_rows = case
    got = opis_by_split(
        y=y,
        is_public=is_public,
        score=score,
        settings=OpisSettings(range=(lo, hi), min_group_rows=min_rows, groups=groups),
    )
    for split, rows in rows_of(is_public).items():
        assert_close(got[split], naive_matching(score, y, groups, rows, lo, hi, min_rows))


@st.composite
def classification_cases(draw):
    n = draw(st.integers(1, 40))
    k = draw(st.integers(2, 4))
    raw = np.array(draw(st.lists(st.floats(0.01, 1), min_size=n * k, max_size=n * k)))
    proba = raw.reshape(n, k) / raw.reshape(n, k).sum(axis=1, keepdims=True)
    y = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    is_public = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    return proba, y, is_public, draw(st.integers(1, 12))


@settings(max_examples=150, deadline=None)
@given(classification_cases())
def test_classification_equals_the_naive_definition(case):
    proba, y, is_public, min_rows = case
    got = opis_by_split(
        y=y, is_public=is_public, proba=proba, settings=OpisSettings(min_group_rows=min_rows)
    )
    for split, rows in rows_of(is_public).items():
        assert_close(got[split], naive_classification(proba, y, rows, 0.05, 0.95, min_rows))


# --- through compute_metrics ---------------------------------------------------------


def _solution(y, is_public, kind, classes, opis=None):
    return Solution(
        ids=pa.array([f"r{i}" for i in range(len(y))]),
        y=np.asarray(y, np.int32),
        is_public=np.asarray(is_public),
        classes=classes,
        kind=kind,
        opis=opis or OpisSettings(),
    )


def test_compute_metrics_reports_opis_where_it_applies():
    rng = np.random.default_rng(3)
    n = 200
    y = rng.integers(0, 3, n)
    proba = rng.dirichlet(np.ones(3), n)
    is_public = rng.random(n) < 0.5
    solution = _solution(y, is_public, "classification", ["a", "b", "c"])
    got = compute_metrics(Aligned(pred=proba.argmax(1), proba=proba), solution)
    for split, rows in rows_of(is_public).items():
        assert_close(got[split]["opis"], naive_classification(proba, y, rows, 0.05, 0.95, 20))
    assert "opis" not in compute_metrics(Aligned(pred=proba.argmax(1)), solution)["all"]

    # Matching: only with a group column, with the task's range and minimum.
    y2 = rng.integers(0, 2, n)
    score = rng.random(n)
    groups = rng.integers(0, 4, n)
    plain = _solution(y2, is_public, "matching", ["0", "1"])
    aligned = Aligned(pred=(score >= 0.5).astype(np.int32), score=score)
    assert "opis" not in compute_metrics(aligned, plain)["all"]
    cfg = OpisSettings(range=(0.2, 0.8), min_group_rows=5, groups=groups)
    grouped = compute_metrics(aligned, _solution(y2, is_public, "matching", ["0", "1"], cfg))
    for split, rows in rows_of(is_public).items():
        assert_close(grouped[split]["opis"], naive_matching(score, y2, groups, rows, 0.2, 0.8, 5))
    assert math.isfinite(grouped["all"]["opis"])


# --- the threshold count: arithmetic, exact as a binary search ---------------------------


@pytest.mark.parametrize("lo, hi", [(0.05, 0.95), (0.0, 1.0), (0.3, 0.7), (0.1, 0.1 + 1e-9)])
def test_reached_equals_a_binary_search_on_and_around_every_threshold(lo, hi):
    from scoring.core.opis import _reached

    grid = threshold_grid(lo, hi)
    near = np.concatenate(
        [grid, np.nextafter(grid, -np.inf), np.nextafter(grid, np.inf), (grid[:-1] + grid[1:]) / 2]
    )
    rng = np.random.default_rng(7)
    scores = np.concatenate(
        [near, rng.random(5000), [-1.0, 0.0, 1.0, 2.0, np.inf, -np.inf, np.nan, lo, hi]]
    )
    assert np.array_equal(_reached(scores, grid), np.searchsorted(grid, scores, side="right"))


def test_counts_do_not_depend_on_the_block_size(monkeypatch):
    # Many blocks (tiny), one block (huge): the same curves for classification and matching.
    from scoring.core import opis

    rng = np.random.default_rng(3)
    n, k = 5003, 4
    proba = rng.dirichlet(np.ones(k), n)
    score = rng.random(n)
    y = rng.integers(0, k, n)
    is_public = rng.random(n) < 0.4
    groups = rng.integers(-1, 6, n)

    def curves():
        by_class = utility_curves(
            y=y, is_public=is_public, proba=proba, settings=OpisSettings(min_group_rows=1)
        )
        matching = utility_curves(
            y=(y == 1).astype(np.int64),
            is_public=is_public,
            score=score,
            settings=OpisSettings(min_group_rows=1, groups=groups),
        )
        return [
            (c.group_f1, c.pooled_f1, c.group_rows)
            for c in (*by_class.values(), *matching.values())
        ]

    monkeypatch.setattr(opis, "_BLOCK_ELEMENTS", 1 << 30)
    whole = curves()
    monkeypatch.setattr(opis, "_BLOCK_ELEMENTS", 97)
    monkeypatch.setattr(opis, "_block_rows", lambda per_row, n_cells: 97)
    blocked = curves()
    for a, b in zip(whole, blocked, strict=True):
        for x, z in zip(a, b, strict=True):
            assert np.array_equal(x, z)
