"""Positive and negative flips against a reference submission (no Django)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from common.flips import FlipReport, flips, split_flips
from scoring.core.flips import flip_rates

#     rows:     0  1  2  3  4  5  6  7  8  9
Y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
REF = np.array([0, 1, 0, 0, 2, 2, 1, 1, 0, 1])  # right on 0 1 3 5 7
NEW = np.array([0, 2, 2, 1, 1, 2, 0, 1, 1, 0])  # right on 0 2 4 5 6 7 9
# positive (ref wrong, new right): 2 4 6 9; negative (ref right, new wrong): 1 3
# both right: 0 5 7; both wrong: 8


def test_counts_shares_and_examples_on_a_hand_computed_case():
    report = flips(y=Y, new_pred=NEW, ref_pred=REF)
    assert (report.n_rows, report.positive, report.negative) == (10, 4, 2)
    assert (report.both_right, report.both_wrong) == (3, 1)
    assert report.positive_share == pytest.approx(0.4)
    assert report.negative_share == pytest.approx(0.2)  # the NFR
    assert report.positive_examples == (2, 4, 6, 9)
    assert report.negative_examples == (1, 3)


def test_examples_are_capped_and_reported_as_ids():
    ids = np.array([f"r{i}" for i in range(10)])
    report = flips(y=Y, new_pred=NEW, ref_pred=REF, examples=2, ids=ids)
    assert report.positive_examples == ("r2", "r4")
    assert report.negative_examples == ("r1", "r3")
    assert all(type(i) is str for i in report.positive_examples)
    assert flips(y=Y, new_pred=NEW, ref_pred=REF, examples=0).positive_examples == ()


def test_rows_restrict_the_comparison_and_examples_keep_row_order():
    mask = np.zeros(10, bool)
    mask[[1, 2, 3, 8]] = True
    report = flips(y=Y, new_pred=NEW, ref_pred=REF, rows=mask)
    assert (report.n_rows, report.positive, report.negative, report.both_wrong) == (4, 1, 2, 1)
    assert report.negative_share == pytest.approx(0.5)
    assert report.negative_examples == (1, 3)
    by_index = flips(y=Y, new_pred=NEW, ref_pred=REF, rows=np.array([8, 3, 2, 1]))
    assert by_index == report


def test_no_rows_gives_zero_shares_and_bad_shapes_are_rejected():
    report = flips(y=Y, new_pred=NEW, ref_pred=REF, rows=np.zeros(10, bool))
    assert (report.n_rows, report.positive_share, report.negative_share) == (0, 0.0, 0.0)
    with pytest.raises(ValueError):
        flips(y=Y, new_pred=NEW[:5], ref_pred=REF)
    with pytest.raises(ValueError):
        flips(y=Y, new_pred=NEW, ref_pred=REF, ids=["a"])


@settings(deadline=None)  # timing belongs in bench/, not in a loaded CI
@given(
    hnp.arrays(np.int8, st.integers(1, 60), elements=st.integers(0, 2)).flatmap(
        lambda y: st.tuples(
            st.just(y),
            hnp.arrays(np.int8, y.shape, elements=st.integers(0, 2)),
            hnp.arrays(np.int8, y.shape, elements=st.integers(0, 2)),
        )
    )
)
def test_counts_partition_the_rows_and_match_the_accuracy_change(case):
    y, new, ref = case
    report = flips(y=y, new_pred=new, ref_pred=ref, examples=100)
    total = report.positive + report.negative + report.both_right + report.both_wrong
    assert total == report.n_rows == len(y)
    assert report.positive - report.negative == int((new == y).sum() - (ref == y).sum())
    assert len(report.positive_examples) == report.positive
    assert all(new[i] == y[i] != ref[i] for i in report.positive_examples)


# --- the per-split core against a naive count ------------------------------------------


def naive_split_flips(y, new, ref, is_public, examples, ids):
    """Row by row, the straightforward way: per split counts, shares and first examples."""
    out = {}
    for split in ("all", "public", "private"):
        rows = [
            i for i in range(len(y)) if split == "all" or bool(is_public[i]) == (split == "public")
        ]
        pos = [i for i in rows if new[i] == y[i] and ref[i] != y[i]]
        neg = [i for i in rows if ref[i] == y[i] and new[i] != y[i]]
        both_right = [i for i in rows if new[i] == y[i] and ref[i] == y[i]]
        n = len(rows)
        out[split] = {
            "n_rows": n,
            "positive": len(pos),
            "negative": len(neg),
            "both_right": len(both_right),
            "both_wrong": n - len(pos) - len(neg) - len(both_right),
            "positive_share": len(pos) / n if n else 0.0,
            "negative_share": len(neg) / n if n else 0.0,
            "positive_examples": [ids[i] for i in pos[:examples]],
            "negative_examples": [ids[i] for i in neg[:examples]],
        }
    return out


@settings(deadline=None)
@given(
    st.integers(0, 80).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.int8, n, elements=st.integers(0, 2)),
            hnp.arrays(np.int8, n, elements=st.integers(0, 2)),
            hnp.arrays(np.int8, n, elements=st.integers(0, 2)),
            hnp.arrays(np.bool_, n),
            st.integers(0, 6),
        )
    )
)
def test_split_flips_equal_a_naive_count_on_random_cases(case):
    y, new, ref, is_public, examples = case
    ids = [f"id{i}" for i in range(len(y))]
    got = split_flips(y=y, pred=new, reference=ref, is_public=is_public, examples=examples, ids=ids)
    want = naive_split_flips(y, new, ref, is_public, examples, ids)
    assert {split: report.to_dict() for split, report in got.items()} == want
    # The two views of the core: the insight page's subset and the scoring rates.
    assert (
        flips(y=y, new_pred=new, ref_pred=ref, rows=is_public, examples=examples, ids=ids)
        == (got["public"])
    )
    rates = flip_rates(y=y, pred=new, reference=ref, is_public=is_public)
    for split, report in got.items():
        expected = (
            {"nfr": want[split]["negative_share"], "pfr": want[split]["positive_share"]}
            if want[split]["n_rows"]
            else {}
        )
        assert rates[split] == expected
        assert FlipReport.from_dict(report.to_dict()) == report


def test_split_flips_rejects_misaligned_input():
    with pytest.raises(ValueError):
        split_flips(y=Y, pred=NEW, reference=REF, is_public=np.ones(3, bool))
    with pytest.raises(ValueError):
        split_flips(y=Y, pred=NEW, reference=REF, is_public=np.ones(10, bool), examples=-1)
