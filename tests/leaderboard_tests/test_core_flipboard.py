"""Board flip rates and their intervals against a naive implementation
(docs/architecture.md §11)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leaderboard.core.bootstrap import resample_indices
from leaderboard.core.flipboard import flip_intervals


def naive(y, pred, ref, rows, *, n_resamples, seed, alpha=0.05):
    """Row by row: the point rates, then each resample's rates over the drawn rows."""
    chosen = [i for i in range(len(y)) if rows[i]]
    n = len(chosen)
    neg = [1 if ref[i] == y[i] and pred[i] != y[i] else 0 for i in chosen]
    pos = [1 if pred[i] == y[i] and ref[i] != y[i] else 0 for i in chosen]
    nfr_b, pfr_b = [], []
    for idx in resample_indices(n=n, seed=seed, n_resamples=n_resamples):
        nfr_b.append(sum(neg[int(j)] for j in idx) / n)
        pfr_b.append(sum(pos[int(j)] for j in idx) / n)
    k = max(1, math.ceil(alpha / 2 * n_resamples - 1e-9))
    nfr_b.sort()
    pfr_b.sort()
    return {
        "nfr": sum(neg) / n,
        "pfr": sum(pos) / n,
        "nfr_low": nfr_b[k - 1],
        "nfr_high": nfr_b[-k],
        "pfr_low": pfr_b[k - 1],
        "pfr_high": pfr_b[-k],
    }


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 40).flatmap(
        lambda n: st.tuples(
            *(st.lists(st.integers(0, 2), min_size=n, max_size=n) for _ in range(4)),
            st.lists(st.booleans(), min_size=n, max_size=n),
            st.integers(0, 2**16),
        )
    )
)
def test_flip_intervals_equal_the_naive_bootstrap(case):
    y, a, b, ref, rows, seed = case
    if not any(rows):
        rows[0] = True
    got = flip_intervals(
        y=np.array(y),
        preds=[np.array(a), np.array(b)],
        reference=np.array(ref),
        rows=np.array(rows),
        n_resamples=50,
        seed=seed,
    )
    for pred, interval in zip((a, b), got, strict=True):
        want = naive(y, pred, ref, rows, n_resamples=50, seed=seed)
        for key, value in want.items():
            assert getattr(interval, key) == pytest.approx(value, abs=1e-12), key
        assert interval.nfr_low <= interval.nfr <= interval.nfr_high or n_small(rows)


def n_small(rows) -> bool:
    return sum(rows) < 5  # a tiny split's resamples may all miss the point value


def test_no_rows_no_rates():
    y = np.array([0, 1])
    assert flip_intervals(y=y, preds=[y], reference=y, rows=np.zeros(2, bool)) == []


def test_identical_to_reference_has_zero_flips():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 500)
    ref = rng.integers(0, 3, 500)
    (same,) = flip_intervals(y=y, preds=[ref], reference=ref, n_resamples=20)
    assert (same.nfr, same.nfr_high, same.pfr, same.pfr_high) == (0.0, 0.0, 0.0, 0.0)


def test_large_boards_resample_the_score_bootstrap_s_random_blocks():
    """Above ROW_BOOTSTRAP_MAX_ROWS rows whole blocks are drawn: each row weighs as often as
    its block."""
    from leaderboard.core.bootstrap import (
        N_BLOCKS,
        ROW_BOOTSTRAP_MAX_ROWS,
        block_assignment,
        resample_group_counts,
    )

    n = ROW_BOOTSTRAP_MAX_ROWS + 7
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, n)
    ref = np.where(rng.random(n) < 0.1, 1 - y, y)
    pred = np.where(rng.random(n) < 0.1, 1 - y, y)
    (got,) = flip_intervals(y=y, preds=[pred], reference=ref, n_resamples=4, seed=5)
    codes = block_assignment(n=n, seed=5)
    neg = (ref == y) & (pred != y)
    values = []
    for counts in resample_group_counts(n_groups=N_BLOCKS, seed=5, n_resamples=4):
        weight = counts[codes].astype(np.float64)
        values.append(float(weight @ neg) / float(weight.sum()))
    assert got.nfr == pytest.approx(neg.mean())
    assert (got.nfr_low, got.nfr_high) == (
        pytest.approx(min(values), rel=1e-6),
        pytest.approx(max(values), rel=1e-6),
    )
