"""Grouping metrics and flip rates (docs/architecture.md §11) against hand-computed cases
and naive code."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinds.grouping.metrics import grouping_metrics, grouping_metrics_by_split
from scoring.core import SubmissionInvalid, score_file, solution_from_table
from scoring.core.flips import flip_rates

from .core_grouping_helpers import naive_flips

# --- naive references ------------------------------------------------------------------


def naive_grouping(truth: list, pred: list) -> dict[str, float]:
    n = len(truth)
    same_cluster = {(i, j) for i, j in itertools.combinations(range(n), 2) if pred[i] == pred[j]}
    same_entity = {(i, j) for i, j in itertools.combinations(range(n), 2) if truth[i] == truth[j]}
    both = len(same_cluster & same_entity)
    precision = both / len(same_cluster) if same_cluster else 0.0
    recall = both / len(same_entity) if same_entity else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    bp = br = 0.0
    for r in range(n):
        cluster = {i for i in range(n) if pred[i] == pred[r]}
        entity = {i for i in range(n) if truth[i] == truth[r]}
        bp += len(cluster & entity) / len(cluster)
        br += len(cluster & entity) / len(entity)
    bp, br = bp / n, br / n
    return {
        "pairwise_f1": f1,
        "pairwise_precision": precision,
        "pairwise_recall": recall,
        "bcubed_f1": 2 * bp * br / (bp + br),
    }




# --- grouping metrics ------------------------------------------------------------------


def test_grouping_by_hand():
    # Entities {0,1,2} {3,4}; clusters {0,1} {2,3} {4}.
    # Cluster pairs: (0,1), (2,3) -> 2; entity pairs: (0,1),(0,2),(1,2),(3,4) -> 4; both: 1.
    got = grouping_metrics(np.array([7, 7, 7, 9, 9]), np.array([1, 1, 2, 2, 3]))
    assert got["pairwise_precision"] == 0.5
    assert got["pairwise_recall"] == 0.25
    assert got["pairwise_f1"] == pytest.approx(2 * 1 / (2 + 4))
    # B-cubed precision: 1, 1, 1/2, 1/2, 1 -> 4/5; recall: 2/3, 2/3, 1/3, 1/2, 1/2 -> 8/15.
    bp, br = 4 / 5, 8 / 15
    assert got["bcubed_f1"] == pytest.approx(2 * bp * br / (bp + br))


def test_singletons_form_no_pair():
    got = grouping_metrics(np.array([0, 0, 1]), np.array([0, 1, 2]))
    assert got["pairwise_precision"] == 0.0  # no predicted pair: 0/0 counts as 0
    assert got["pairwise_recall"] == 0.0
    assert got["pairwise_f1"] == 0.0
    perfect = grouping_metrics(np.array([3, 3, 5]), np.array([8, 8, 0]))
    assert perfect == {
        "pairwise_f1": 1.0,
        "pairwise_precision": 1.0,
        "pairwise_recall": 1.0,
        "bcubed_f1": 1.0,
    }
    assert grouping_metrics(np.array([], int), np.array([], int)) == {}


@st.composite
def grouping_cases(draw):
    n = draw(st.integers(1, 30))
    truth = draw(st.lists(st.integers(0, draw(st.integers(0, 8))), min_size=n, max_size=n))
    pred = draw(st.lists(st.integers(0, draw(st.integers(0, 8))), min_size=n, max_size=n))
    is_public = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return np.array(truth), np.array(pred), np.array(is_public)


@settings(max_examples=200, deadline=None)
@given(grouping_cases())
def test_grouping_equals_pair_enumeration(case):
    truth, pred, is_public = case
    got = grouping_metrics_by_split(truth, pred, is_public)
    for split, mask in (
        ("all", np.ones_like(is_public)),
        ("public", is_public),
        ("private", ~is_public),
    ):
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            assert got[split] == {}
            continue
        expected = naive_grouping(truth[rows].tolist(), pred[rows].tolist())
        assert got[split] == pytest.approx(expected, rel=1e-12, abs=1e-12)


# --- flips ------------------------------------------------------------------------------


def test_flips_by_hand():
    y = np.array([0, 1, 1, 0, 2])
    ref = np.array([0, 1, 0, 1, 2])  # right on rows 0, 1, 4
    new = np.array([0, 0, 1, 1, 0])  # right on rows 0, 2: broke 1 and 4, fixed 2
    got = flip_rates(y=y, pred=new, reference=ref, is_public=np.array([1, 1, 1, 0, 0], bool))
    assert got["all"] == {"nfr": 2 / 5, "pfr": 1 / 5}
    assert got["public"] == {"nfr": 1 / 3, "pfr": 1 / 3}
    assert got["private"] == {"nfr": 1 / 2, "pfr": 0.0}
    none = flip_rates(y=y, pred=new, reference=ref, is_public=np.ones(5, bool))
    assert none["private"] == {}


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 50).flatmap(
        lambda n: st.tuples(
            *(st.lists(st.integers(0, 2), min_size=n, max_size=n) for _ in range(3)),
            st.lists(st.booleans(), min_size=n, max_size=n),
        )
    )
)
def test_flips_equal_the_naive_count(case):
    (y, new, ref), is_public = case[:3], case[3]
    got = flip_rates(
        y=np.array(y), pred=np.array(new), reference=np.array(ref), is_public=np.array(is_public)
    )
    n = len(y)
    rows = {
        "all": list(range(n)),
        "public": [i for i in range(n) if is_public[i]],
        "private": [i for i in range(n) if not is_public[i]],
    }
    for split, r in rows.items():
        assert got[split] == pytest.approx(naive_flips(y, new, ref, r))


# --- grouping submissions -------------------------------------------------------------


@pytest.fixture
def grouping_solution():
    table = pa.table(
        {
            "id": [f"r{i}" for i in range(6)],
            "label": ["e1", "e1", "e2", "e2", "e2", "e3"],
            "split": ["public", "private", "public", "private", "public", "private"],
        }
    )
    return solution_from_table(table, kind="grouping", classes=[])


def test_a_grouping_file_scores(grouping_solution):
    csv = b"id,cluster\nr5,z\nr0,a\nr1,a\nr2,b\nr3,b\nr4,7\n"
    result = score_file(io.BytesIO(csv), grouping_solution)
    assert set(result.metrics["all"]) == {
        "pairwise_precision",
        "pairwise_recall",
        "pairwise_f1",
        "bcubed_f1",
    }
    expected = naive_grouping(["e1", "e1", "e2", "e2", "e2", "e3"], ["a", "a", "b", "b", "7", "z"])
    assert result.metrics["all"] == pytest.approx(expected)
    # Parquet with integer clusters scores the same way.
    out = io.BytesIO()
    pq.write_table(
        pa.table({"id": [f"r{i}" for i in range(6)], "cluster": [1, 1, 2, 2, 7, 9]}), out
    )
    again = score_file(io.BytesIO(out.getvalue()), grouping_solution)
    assert again.metrics == result.metrics


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"id,label\nr0,a\n", "must have the columns 'id' and 'cluster'; 'cluster' is missing"),
        (
            b"id,cluster\nr0,a\nr1,a\nr2,\nr3,b\nr4,b\nr5,c\n",
            "1 row has an empty cluster, e.g. id 'r2'",
        ),
        (b"id,cluster\nr0,a\nr0,a\nr2,b\nr3,b\nr4,b\nr5,c\n", "1 id appears more than once"),
        (b"id,cluster\nr0,a\nr2,b\nr3,b\nr4,b\nr5,c\n", "1 test id is missing, e.g. 'r1'"),
        (
            b"id,cluster\nr0,a\nr1,a\nr2,b\nr3,b\nr4,b\nr5,c\nzz,c\n",
            "not in the test set, e.g. 'zz'",
        ),
        (b"id,cluster\n", "The file names its columns but has no rows."),
    ],
)
def test_grouping_files_are_refused_with_a_reason(grouping_solution, content, words):
    with pytest.raises(SubmissionInvalid) as caught:
        score_file(io.BytesIO(content), grouping_solution)
    assert words in caught.value.message


def test_float_clusters_are_refused(grouping_solution):
    out = io.BytesIO()
    pq.write_table(pa.table({"id": [f"r{i}" for i in range(6)], "cluster": [1.5] * 6}), out)
    with pytest.raises(SubmissionInvalid, match="Column 'cluster' has type double"):
        score_file(io.BytesIO(out.getvalue()), grouping_solution)
