"""The pure figures behind the robustness column and the consistency column
(docs/organizers/stress.md): per-family ratios and flip rates on planted predictions, their
orientation for a lower-is-better metric, and matching's transitivity violations against a brute
force."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest

from kinds import kind_get
from kinds.matching.transitivity import record_keys, transitivity_violations
from kinds.robustness import stress_figures


def test_ratios_and_flip_rates_of_planted_predictions():
    kind = kind_get("classification")
    # Clean: 10 rows, the clean run right on all of them.
    y_clean = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    clean_pred = y_clean.copy()
    # Copies: family 0 of rows 0-4 (all still right), family 1 of rows 5-9 (2 of 5 wrong).
    origin = np.arange(10)
    family = np.array([0] * 5 + [1] * 5)
    pred = y_clean.copy()
    pred[[5, 6]] = (pred[[5, 6]] + 1) % 3
    public = np.array([True, False] * 5)
    figures = stress_figures(
        kind=kind,
        metric="accuracy",
        classes=["a", "b", "c"],
        options={},
        families=("typos", "shuffle_columns"),
        family=family,
        origin=origin,
        y=y_clean,
        is_public=public,
        pred=pred,
        clean_pred=clean_pred,
    )
    every = figures["all"]
    assert every["families"]["typos"] == {
        "score": 1.0,
        "clean": 1.0,
        "ratio": 1.0,
        "flip_rate": 0.0,
        "rows": 5,
    }
    assert every["families"]["shuffle_columns"]["ratio"] == pytest.approx(0.6)
    assert every["families"]["shuffle_columns"]["flip_rate"] == pytest.approx(0.4)
    assert every["mean_ratio"] == pytest.approx(0.8)
    assert every["worst_family"] == "shuffle_columns"
    # Only copies of public rows count on the public split: rows 6 (wrong) and 8 (right).
    assert figures["public"]["families"]["shuffle_columns"]["rows"] == 2
    assert figures["public"]["families"]["shuffle_columns"]["ratio"] == pytest.approx(0.5)


def test_a_lower_is_better_metric_gives_a_ratio_below_one_when_worse():
    kind = kind_get("regression")
    y = np.linspace(0, 1, 8)
    clean = y + 0.1  # rmse 0.1
    noisy = y + 0.2  # rmse 0.2: twice as bad
    figures = stress_figures(
        kind=kind,
        metric="rmse",
        classes=[],
        options={"tolerance": 0.05},
        families=("numeric_noise",),
        family=np.zeros(8, dtype=np.int32),
        origin=np.arange(8),
        y=y,
        is_public=np.ones(8, dtype=bool),
        pred=noisy,
        clean_pred=clean,
    )
    fam = figures["all"]["families"]["numeric_noise"]
    assert fam["ratio"] == pytest.approx(0.5)
    assert fam["flip_rate"] == pytest.approx(1.0)  # every copy moved by more than the tolerance


def test_grouping_has_ratios_but_no_flip_rate():
    kind = kind_get("grouping")
    y = np.array([0, 0, 1, 1, 2, 2])
    figures = stress_figures(
        kind=kind,
        metric="pairwise_f1",
        classes=[],
        options={},
        families=("typos",),
        family=np.zeros(6, dtype=np.int32),
        origin=np.arange(6),
        y=y,
        is_public=np.ones(6, dtype=bool),
        pred=np.array([5, 5, 6, 7, 8, 8]),  # one entity split
        clean_pred=np.array([9, 9, 3, 3, 4, 4]),
    )
    fam = figures["all"]["families"]["typos"]
    assert fam["flip_rate"] is None and fam["clean"] == 1.0 and 0 < fam["ratio"] < 1


def _brute(left, right, pred):
    """Violations by enumeration: the transitive closure of predicted matches."""
    matched = {(a, b) for a, b, p in zip(left, right, pred, strict=True) if p and a != b}
    nodes = set(left) | set(right)
    parent = {n: n for n in nodes}

    def find(n):
        while parent[n] != n:
            n = parent[n]
        return n

    for a, b in matched:
        parent[find(a)] = find(b)
    implied = [
        (a, b, p)
        for a, b, p in zip(left, right, pred, strict=True)
        if a != b and find(a) == find(b)
    ]
    if not matched:
        return None
    return sum(1 for _, _, p in implied if not p) / len(implied)


def test_transitivity_violations_are_the_pairs_the_matches_imply_but_deny():
    # a~b, b~c predicted; (a, c) is a candidate predicted not a match: one violation in 3.
    left = np.array([0, 1, 0, 3])
    right = np.array([1, 2, 2, 4])
    pred = np.array([1, 1, 0, 0])
    assert transitivity_violations(left, right, pred) == pytest.approx(1 / 3)
    assert transitivity_violations(left, right, np.array([1, 1, 1, 0])) == 0.0
    assert transitivity_violations(left, right, np.zeros(4, dtype=int)) is None
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(5, 40))
        lo, hi = rng.integers(0, 12, n), rng.integers(0, 12, n)
        p = rng.integers(0, 2, n)
        got = transitivity_violations(lo, hi, p)
        want = _brute(lo.tolist(), hi.tolist(), p.tolist())
        assert (got is None and want is None) or got == pytest.approx(want)


def test_records_are_told_apart_by_all_their_values_on_either_side():
    features = pa.table(
        {
            "left_name": ["Ada", "Ada", "Bob", None],
            "right_name": ["Bob", "Ada", "Ada", None],
            "left_city": ["X", "X", "Y", "Z"],
            "right_city": ["Y", "Y", "X", "Z"],
        }
    )
    left, right = record_keys(features, ["name", "city"])
    # (Ada, X) is left of rows 0-1 and right of row 2; (Bob, Y) left of row 2, right of 0.
    assert left[0] == left[1] == right[2]
    assert right[0] == left[2]
    assert right[1] != left[1]  # (Ada, Y) is another record
    assert left[3] == right[3]  # the same empty record on both sides


def test_the_matching_kind_reports_the_consistency_column():
    kind = kind_get("matching")
    features = pa.table(
        {
            "left_t": ["a", "b", "a"],
            "right_t": ["b", "c", "c"],
        }
    )
    context = kind.consistency_context(features, [("left_t", "text"), ("right_t", "text")])
    assert kind.consistency(context, np.array([1, 1, 0])) == {
        "transitivity_violations": pytest.approx(1 / 3)
    }
    assert kind.consistency(context, np.array([1, 1])) == {"transitivity_violations": None}
    assert kind_get("classification").consistency_columns == ()
    assert list(itertools.islice(kind.consistency_columns, 1)) == ["transitivity_violations"]
