"""Positive and negative flips against a reference submission (no Django)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from common.flips import flips

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
