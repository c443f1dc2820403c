"""The simultaneous rank sets (``leaderboard.core.rank_sets``): an oracle on a small fixed
board (the paper's procedure written out as plain loops over ordered pairs, with the same
bootstrap draws), exact ties, the tiers, and refusals of bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leaderboard.core.rank_sets import (
    _resampled_means,
    rank_sets_from_replicates,
    rank_tiers,
    simultaneous_rank_sets,
)
from leaderboard.core.resampling import COUNTS_CACHE_BYTES, resample_indices


def _fixture() -> np.ndarray:
    """Eight entries x 80 units of 0/1 scores: a clear leader, a pair of identical rows,
    a near-tie, a tie in truth (different rows), and a tail."""
    rng = np.random.default_rng(20231)
    truth = np.array([0.95, 0.75, 0.75, 0.72, 0.55, 0.55, 0.40, 0.10])
    shared = rng.random(80)
    own = rng.random((8, 80))
    u = np.where(rng.random((8, 80)) < 0.5, shared, own)
    scores = (u < truth[:, None]).astype(float)
    scores[2] = scores[1]  # identical predictions: an exact tie
    return scores


def _reference(scores: np.ndarray, *, alpha: float, draws: int, seed: int):
    """Mogstad, Romano, Shaikh & Wilhelm's step-down for all ranks, as loops: ordered pairs,
    one-sided tests of theta_j <= theta_k, the critical value of the pairs left, repeat."""
    p, n = scores.shape
    est = scores.mean(axis=1)
    reps = np.array(
        [scores[:, idx].mean(axis=1) for idx in resample_indices(n=n, seed=seed, n_resamples=draws)]
    )
    pairs = [(j, k) for j in range(p) for k in range(p) if j != k]
    sd, t = {}, {}
    for j, k in pairs:
        d = reps[:, j] - reps[:, k]
        sd[j, k] = float(np.std(d))
        t[j, k] = (est[j] - est[k]) / sd[j, k] if sd[j, k] > 0 else None
    rejected = {(j, k) for j, k in pairs if sd[j, k] == 0 and est[j] > est[k]}
    alive = {(j, k) for j, k in pairs if sd[j, k] > 0}
    criticals = []
    while alive:
        maxima = []
        for b in range(draws):
            maxima.append(
                max(((reps[b, j] - reps[b, k]) - (est[j] - est[k])) / sd[j, k] for j, k in alive)
            )
        c = sorted(maxima)[math.ceil((1 - alpha) * draws) - 1]
        criticals.append(c)
        new = {pair for pair in alive if t[pair] > c}
        if not new:
            break
        rejected |= new
        alive -= new
    sets = []
    for j in range(p):
        above = sum(1 for k in range(p) if (k, j) in rejected)
        below = sum(1 for k in range(p) if (j, k) in rejected)
        sets.append((1 + above, p - below))
    return sets, criticals


def test_the_sets_match_the_procedure_written_as_loops() -> None:
    scores = _fixture()
    expected, criticals = _reference(scores, alpha=0.05, draws=300, seed=7)
    assert simultaneous_rank_sets(scores=scores, alpha=0.05, draws=300, seed=7) == expected
    est = scores.mean(axis=1)
    reps = np.array(
        [scores[:, idx].mean(axis=1) for idx in resample_indices(n=80, seed=7, n_resamples=300)]
    )
    result = rank_sets_from_replicates(estimates=est, replicates=reps, alpha=0.05)
    assert list(result.sets) == expected
    assert result.critical == pytest.approx(criticals, rel=1e-9)
    # the fixture exercises the step-down and gives a non-trivial board
    assert len(criticals) >= 2
    assert expected[0] == (1, 1)
    assert len({s for s in expected}) >= 4


def test_identical_entries_share_a_set_and_are_never_separated() -> None:
    scores = _fixture()
    sets = simultaneous_rank_sets(scores=scores, draws=200)
    assert sets[1] == sets[2]
    assert sets[1][0] <= 2 and sets[1][1] >= 3
    only = simultaneous_rank_sets(scores=np.vstack([scores[1], scores[1], scores[1]]), draws=50)
    assert only == [(1, 3)] * 3


def test_a_constant_difference_separates_and_a_single_entry_is_first() -> None:
    rng = np.random.default_rng(3)
    base = rng.random(50)
    assert simultaneous_rank_sets(scores=np.vstack([base + 0.01, base]), draws=100) == [
        (1, 1),
        (2, 2),
    ]
    assert simultaneous_rank_sets(scores=base[None, :], draws=100) == [(1, 1)]


def test_rank_sets_from_replicates_shares_sets_of_identical_columns() -> None:
    rng = np.random.default_rng(5)
    reps = rng.normal(size=(400, 4)) * 0.01 + np.array([0.9, 0.8, 0.8, 0.5])
    reps[:, 2] = reps[:, 1]
    est = np.array([0.9, 0.8, 0.8, 0.5])
    result = rank_sets_from_replicates(estimates=est, replicates=reps)
    assert result.sets[1] == result.sets[2] == (2, 3)
    assert result.sets[0] == (1, 1) and result.sets[3] == (4, 4)
    assert result.better[0, 1] and result.better[0, 2] and not result.better[1, 2]


def test_tiers_are_the_blocks_of_overlapping_sets_in_order() -> None:
    assert rank_tiers([(1, 1), (2, 4), (2, 3), (4, 4), (5, 6), (5, 6)]) == [[0], [1, 2, 3], [4, 5]]
    assert rank_tiers([(1, 2), None, (1, 3), (3, 4)]) == [[0, 2, 3]]
    assert rank_tiers([]) == []
    # tiers follow the sets, members in input order even when a lower set comes first
    assert rank_tiers([(3, 3), (1, 2), (1, 1)]) == [[1, 2], [0]]


@pytest.mark.parametrize(
    ("scores", "kwargs", "words"),
    [
        (np.ones(5), {}, "2-D"),
        (np.ones((0, 5)), {}, "at least one entry"),
        (np.ones((3, 1)), {}, "two units"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), {}, "finite"),
        (np.ones((2, 4)), {"alpha": 0.0}, "alpha"),
        (np.ones((2, 4)), {"alpha": 1.5}, "alpha"),
        (np.ones((2, 4)), {"draws": 0}, "draws"),
        (np.ones((2, 4)), {"draws": 2.5}, "draws"),
        ([["a", "b"], ["c", "d"]], {}, "could not convert"),
    ],
)
def test_bad_input_is_refused_with_its_reason(scores, kwargs, words) -> None:
    with pytest.raises(ValueError, match=words):
        simultaneous_rank_sets(scores=scores, **kwargs)


def test_bad_replicates_are_refused() -> None:
    with pytest.raises(ValueError, match="draws x entries"):
        rank_sets_from_replicates(estimates=np.ones(3), replicates=np.ones((10, 2)))
    with pytest.raises(ValueError, match="finite"):
        rank_sets_from_replicates(estimates=np.ones(2), replicates=np.full((10, 2), np.inf))


def test_large_boards_draw_the_same_resamples_in_chunks() -> None:
    """Above the kept counts' size the units are drawn in chunks: the same draws (child b of
    SeedSequence(seed) draws resample b) as the loop over resample_indices."""
    n = COUNTS_CACHE_BYTES // 4 // 1000 + 1  # 1,000 draws of n units are not kept
    scores = np.random.default_rng(9).random((2, n))
    means = _resampled_means(scores, seed=4, draws=1000)
    for b, idx in enumerate(resample_indices(n=n, seed=4, n_resamples=3)):
        assert means[b] == pytest.approx(scores[:, idx].mean(axis=1), rel=1e-12)
