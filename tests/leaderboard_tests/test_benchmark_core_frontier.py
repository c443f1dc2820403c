"""The quality-against-cost frontier (no Django)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leaderboard.core.benchmark.frontier import CostPoint, quality_cost_frontier


def points(*rows):
    return [CostPoint(name=n, quality=q, cpu_seconds=c) for n, q, c in rows]


def by_name(frontier):
    return {p.name: p for p in frontier.points}


def test_the_frontier_is_the_best_quality_each_budget_buys():
    frontier = quality_cost_frontier(
        points=points(
            ("accurate", 0.90, 100.0),
            ("cheap", 0.80, 10.0),
            ("wasteful", 0.85, 200.0),  # accurate is better and cheaper
            ("cheapest", 0.70, 5.0),
            ("slow-cheap", 0.80, 50.0),  # cheap is as good for less
        )
    )
    assert frontier.frontier == ("cheapest", "cheap", "accurate")
    found = by_name(frontier)
    assert found["wasteful"].dominated_by == "accurate"
    assert found["slow-cheap"].dominated_by == "cheap"
    assert found["accurate"].on_frontier and found["accurate"].dominated_by is None


def test_ties_equal_points_share_the_frontier_and_equal_quality_goes_to_the_cheaper():
    frontier = quality_cost_frontier(
        points=points(
            ("a", 0.9, 100.0),
            ("twin", 0.9, 100.0),
            ("dearer", 0.9, 150.0),
            ("cheap", 0.5, 1.0),
        )
    )
    found = by_name(frontier)
    assert found["a"].on_frontier and found["twin"].on_frontier
    assert frontier.frontier == ("cheap", "a", "twin")
    assert found["dearer"].dominated_by == "a"

    better_same_cost = quality_cost_frontier(points=points(("a", 0.9, 100.0), ("b", 0.95, 100.0)))
    assert better_same_cost.frontier == ("b",)
    assert by_name(better_same_cost)["a"].dominated_by == "b"


def test_lower_is_better_quality_is_turned():
    frontier = quality_cost_frontier(
        points=points(("low-error", 1.0, 100.0), ("high-error", 2.0, 10.0), ("bad", 3.0, 50.0)),
        higher_is_better=False,
    )
    assert frontier.frontier == ("high-error", "low-error")
    assert by_name(frontier)["bad"].dominated_by == "high-error"


def test_points_without_a_cost_or_a_quality_are_listed_but_not_placed():
    frontier = quality_cost_frontier(
        points=points(("measured", 0.8, 10.0), ("no-cpu", 0.99, None), ("unscored", None, 1.0))
    )
    found = by_name(frontier)
    assert frontier.frontier == ("measured",)
    assert not found["no-cpu"].on_frontier and found["no-cpu"].note == "no CPU time recorded"
    assert found["no-cpu"].dominated_by is None
    assert found["unscored"].note == "no quality score"
    assert quality_cost_frontier(points=[]).frontier == ()


def test_bad_points_are_refused_with_a_message_naming_them():
    cases = [
        (points(("a", float("nan"), 1.0)), "quality of 'a' is nan"),
        (points(("a", 0.5, float("inf"))), "cpu_seconds of 'a' is inf"),
        (points(("a", 0.5, -1.0)), "negative"),
        (points(("a", 0.5, 1.0), ("a", 0.6, 2.0)), "distinct"),
        (points(("a", "0.5", 1.0)), "must be a number"),
    ]
    for rows, message in cases:
        with pytest.raises(ValueError, match=message):
            quality_cost_frontier(points=rows)


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=12),
    higher_is_better=st.booleans(),
)
def test_frontier_matches_the_definition_checked_pair_by_pair(rows, higher_is_better):
    # Coarse values: many ties in quality, in cost, and in both.
    given_points = points(*((f"p{i}", q / 5, float(c)) for i, (q, c) in enumerate(rows)))
    frontier = quality_cost_frontier(points=given_points, higher_is_better=higher_is_better)

    def better(p):
        return p.quality if higher_is_better else -p.quality

    def dominates(p, q):
        at_least = better(p) >= better(q) and p.cpu_seconds <= q.cpu_seconds
        return at_least and (better(p) > better(q) or p.cpu_seconds < q.cpu_seconds)

    found = by_name(frontier)
    for q in given_points:
        dominated = any(dominates(p, q) for p in given_points)
        assert found[q.name].on_frontier is (not dominated)
        if dominated:
            by = found[found[q.name].dominated_by]
            assert by.on_frontier and dominates(by, q)
            # the cheapest frontier point at least as good
            assert all(
                not (found[p.name].on_frontier and better(p) >= better(q))
                or p.cpu_seconds >= by.cpu_seconds
                for p in given_points
            )
    costs = [found[n].cpu_seconds for n in frontier.frontier]
    assert costs == sorted(costs)
