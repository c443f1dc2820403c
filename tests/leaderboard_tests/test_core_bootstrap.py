"""Paired bootstrap of a leaderboard (no Django)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score

from leaderboard.core import resampling
from leaderboard.core.bootstrap import (
    _resample_ranks,
    bootstrap_leaderboard,
    group_row_weights,
    point_scores,
    resample_indices,
)


def classification_case(n=400, accuracies=(0.9, 0.8), seed=1, classes=4):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    preds = [np.where(rng.random(n) < a, y, (y + 1) % classes) for a in accuracies]
    return y, preds


def flip_row(pred, y, row, classes=4):
    changed = pred.copy()
    changed[row] = (y[row] + 1) % classes
    return changed


def test_entries_differing_by_one_row_are_tied_and_a_large_gap_is_not():
    y, (good, weak) = classification_case(n=500, accuracies=(0.9, 0.6))
    right = np.flatnonzero(good == y)
    almost = flip_row(good, y, right[0])  # one row worse than good
    result = bootstrap_leaderboard(y=y, preds=[good, almost, weak], kind="classification")
    assert result.best == 0
    assert result.tied_with_best == frozenset({0, 1})
    assert result.entries[1].tied_with_best
    assert result.entries[1].diff_low <= 0
    assert not result.entries[2].tied_with_best
    assert result.entries[2].diff_low > 0
    assert result.entries[2].share_at_least_best == 0.0


def test_tie_boundary_is_at_least_k_resamples_where_the_entry_matches_the_best():
    y, (good,) = classification_case(n=300, accuracies=(0.85,))
    almost = flip_row(good, y, np.flatnonzero(good == y)[0])
    first = bootstrap_leaderboard(
        y=y, preds=[good, almost], kind="classification", n_resamples=400, keep_samples=True
    )
    count = int((first.samples[:, 1] >= first.samples[:, 0]).sum())  # row 0 not drawn
    assert 0 < count < 400
    # k = ceil(alpha / 2 * B): tied exactly while count >= k.
    at_boundary = bootstrap_leaderboard(
        y=y, preds=[good, almost], kind="classification", n_resamples=400, alpha=2 * count / 400
    )
    assert at_boundary.entries[1].tied_with_best
    assert at_boundary.entries[1].diff_low == 0
    beyond = bootstrap_leaderboard(
        y=y,
        preds=[good, almost],
        kind="classification",
        n_resamples=400,
        alpha=2 * (count + 1) / 400,
    )
    assert not beyond.entries[1].tied_with_best
    assert beyond.entries[1].diff_low > 0


def test_tie_rule_on_matching_f1():
    rng = np.random.default_rng(3)
    y = (rng.random(600) < 0.3).astype(np.int64)
    good = np.where(rng.random(600) < 0.95, y, 1 - y)
    almost = good.copy()
    almost[np.flatnonzero((good == 1) & (y == 1))[0]] = 0  # one true positive lost
    bad = np.where(rng.random(600) < 0.7, y, 1 - y)
    result = bootstrap_leaderboard(y=y, preds=[almost, good, bad], kind="matching")
    assert result.best == 1
    assert result.tied_with_best == frozenset({0, 1})


def test_same_seed_gives_identical_results_and_another_seed_differs():
    y, preds = classification_case()
    first = bootstrap_leaderboard(
        y=y, preds=preds, kind="classification", seed=7, keep_samples=True
    )
    again = bootstrap_leaderboard(
        y=y, preds=preds, kind="classification", seed=7, keep_samples=True
    )
    other = bootstrap_leaderboard(
        y=y, preds=preds, kind="classification", seed=8, keep_samples=True
    )
    assert first.entries == again.entries
    assert np.array_equal(first.samples, again.samples)
    assert not np.array_equal(first.samples, other.samples)


def test_chunking_and_blas_threads_do_not_change_results():
    y, preds = classification_case(n=300)
    whole = bootstrap_leaderboard(y=y, preds=preds, kind="classification", keep_samples=True)
    chunked = bootstrap_leaderboard(
        y=y, preds=preds, kind="classification", keep_samples=True, chunk_bytes=300 * 7
    )
    assert np.array_equal(whole.samples, chunked.samples)
    threaded = bootstrap_leaderboard(
        y=y, preds=preds, kind="classification", keep_samples=True, blas_threads=None
    )
    assert np.array_equal(whole.samples, threaded.samples)  # integer sums: exact either way


def test_kept_counts_are_the_drawn_ones_and_change_no_result(monkeypatch):
    """Small boards' counts are drawn once per process (every cell of a task draws the same):
    exactly the counts each resample's generator gives, read-only, and the same results as
    drawing them every time."""
    counts = resampling.resample_counts(seed=3, n_resamples=40, n=123)
    drawn = resampling.fill_counts(resampling.resample_streams(seed=3, n_resamples=40), 123)
    assert np.array_equal(counts, drawn) and not counts.flags.writeable
    assert resampling.resample_counts(seed=3, n_resamples=40, n=123) is counts
    y, preds = classification_case(n=300)
    kept = bootstrap_leaderboard(y=y, preds=preds, kind="classification", keep_samples=True)
    monkeypatch.setattr(resampling, "COUNTS_CACHE_BYTES", 0)  # none kept: drawn each time
    assert resampling.resample_counts(seed=0, n_resamples=1000, n=300) is None
    fresh = bootstrap_leaderboard(y=y, preds=preds, kind="classification", keep_samples=True)
    assert np.array_equal(kept.samples, fresh.samples)


def test_resamples_match_a_naive_take_per_entry_for_both_kinds():
    y, preds = classification_case(n=200, accuracies=(0.9, 0.7, 0.5))
    result = bootstrap_leaderboard(
        y=y, preds=preds, kind="classification", n_resamples=50, seed=4, keep_samples=True
    )
    naive = [
        [np.take(p, idx).__eq__(np.take(y, idx)).mean() for p in preds]
        for idx in resample_indices(n=200, seed=4, n_resamples=50)
    ]
    assert np.array_equal(result.samples, np.array(naive))

    rng = np.random.default_rng(5)
    ym = (rng.random(200) < 0.2).astype(int)
    pm = [np.where(rng.random(200) < a, ym, 1 - ym) for a in (0.9, 0.7)]
    result = bootstrap_leaderboard(
        y=ym, preds=pm, kind="matching", n_resamples=50, seed=4, keep_samples=True
    )
    naive = [
        [f1_score(ym[idx], p[idx], zero_division=0.0) for p in pm]
        for idx in resample_indices(n=200, seed=4, n_resamples=50)
    ]
    assert np.allclose(result.samples, np.array(naive), rtol=0, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(5, 300),
    accuracies=st.lists(st.floats(0, 1), min_size=1, max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_score_interval_contains_the_point_estimate(n, accuracies, seed):
    y, preds = classification_case(n=n, accuracies=accuracies, seed=seed % 1000)
    result = bootstrap_leaderboard(
        y=y, preds=preds, kind="classification", n_resamples=200, seed=seed
    )
    for e in result.entries:
        assert e.score_low <= e.score <= e.score_high
        assert e.rank_low <= e.rank_high
        assert e.rank_low >= 1 and e.rank_high <= len(preds)
        assert e.tied_with_best == (e.diff_low <= 0)


def test_point_scores_match_sklearn_f1_and_accuracy():
    y, preds = classification_case()
    assert point_scores(y=y, preds=preds, kind="classification").tolist() == [
        float(np.mean(p == y)) for p in preds
    ]
    ym = np.array([1, 1, 0, 0, 1, 0])
    pm = np.array([1, 0, 1, 0, 1, 0])
    assert point_scores(y=ym, preds=[pm], kind="matching")[0] == pytest.approx(f1_score(ym, pm))
    # No positives and none predicted: F1 is 0, as with zero_division=0.
    assert point_scores(y=np.zeros(3, int), preds=[np.zeros(3, int)], kind="matching")[0] == 0


def test_rows_mask_restricts_the_resampled_rows():
    y, (good, bad) = classification_case(n=100, accuracies=(1.0, 0.0))
    mask = np.zeros(100, bool)
    mask[:40] = True
    result = bootstrap_leaderboard(y=y, preds=[good, bad], kind="classification", rows=mask)
    assert result.n_rows == 40
    assert result.entries[0].score == 1.0
    assert (result.entries[0].score_low, result.entries[0].score_high) == (1.0, 1.0)
    by_index = bootstrap_leaderboard(
        y=y, preds=[good, bad], kind="classification", rows=np.arange(40)
    )
    assert by_index.entries == result.entries


def test_baseline_gets_a_score_interval_but_no_rank_and_is_never_in_the_tied_group():
    y, (good, base, weak) = classification_case(n=500, accuracies=(0.8, 0.95, 0.6))
    result = bootstrap_leaderboard(
        y=y, preds=[good, base, weak], kind="classification", is_baseline=[False, True, False]
    )
    baseline = result.entries[1]
    assert baseline.rank_low is None and baseline.rank_high is None
    assert baseline.score_low <= baseline.score <= baseline.score_high
    assert result.best == 0  # the baseline scores higher but is not ranked
    assert 1 not in result.tied_with_best
    assert not baseline.tied_with_best
    assert baseline.diff_high < 0  # clearly better than the best ranked entry
    assert (result.entries[0].rank_low, result.entries[0].rank_high) == (1, 1)
    assert (result.entries[2].rank_low, result.entries[2].rank_high) == (2, 2)


def test_all_baselines_means_no_best_and_no_ranks():
    y, preds = classification_case()
    result = bootstrap_leaderboard(
        y=y, preds=preds, kind="classification", is_baseline=[True, True]
    )
    assert result.best is None
    assert result.tied_with_best == frozenset()
    assert all(e.rank_low is None and e.diff_low is None for e in result.entries)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "forecasting"}, "unknown kind"),
        ({"preds": []}, "at least one entry"),
        ({"preds": [np.zeros(3, int)]}, "shape"),
        ({"n_resamples": 0}, "n_resamples"),
        ({"alpha": 1.5}, "alpha"),
        ({"rows": np.zeros(10, bool)}, "no rows"),
        ({"kind": "matching", "preds": [np.full(10, 2)]}, "only 0 and 1"),
        ({"is_baseline": [True, False]}, "one flag per entry"),
    ],
)
def test_invalid_input_is_rejected(kwargs, message):
    arguments = {"y": np.zeros(10, int), "preds": [np.zeros(10, int)], "kind": "classification"}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        bootstrap_leaderboard(**arguments)


@pytest.mark.parametrize("kind", ["classification", "matching"])
def test_one_row_per_group_is_exactly_the_row_bootstrap(kind):
    if kind == "classification":
        y, preds = classification_case(n=300, accuracies=(0.9, 0.7, 0.5))
    else:
        rng = np.random.default_rng(7)
        y = (rng.random(300) < 0.4).astype(int)
        preds = [np.where(rng.random(300) < a, y, 1 - y) for a in (0.9, 0.7)]
    rows = bootstrap_leaderboard(y=y, preds=preds, kind=kind, keep_samples=True, seed=3)
    grouped = bootstrap_leaderboard(
        y=y, preds=preds, kind=kind, keep_samples=True, seed=3, groups=np.arange(300)
    )
    assert np.array_equal(rows.samples, grouped.samples)
    assert rows.entries == grouped.entries


def test_entity_groups_move_together_with_the_same_seeds():
    y, preds = classification_case(n=600, accuracies=(0.85, 0.8))
    entity = np.random.default_rng(2).integers(0, 150, 600) * 7 + 11  # arbitrary entity ids
    weights = list(group_row_weights(groups=entity, seed=5, n_resamples=40))
    again = list(group_row_weights(groups=entity, seed=5, n_resamples=40))
    assert all(np.array_equal(a, b) for a, b in zip(weights, again, strict=True))
    for w in weights:
        for code in np.unique(entity)[:20]:
            assert len(set(w[entity == code])) == 1  # a whole entity is drawn or not
    first_row = [np.flatnonzero(entity == code)[0] for code in np.unique(entity)]
    for w in weights:
        assert w[first_row].sum() == len(first_row)  # G entities drawn with replacement
    result = bootstrap_leaderboard(
        y=y,
        preds=preds,
        kind="classification",
        n_resamples=40,
        seed=5,
        groups=entity,
        keep_samples=True,
    )
    correct = [p == y for p in preds]
    naive = np.array([[(w * c).sum() / w.sum() for c in correct] for w in weights])
    np.testing.assert_allclose(result.samples, naive, rtol=0, atol=1e-12)


def test_large_boards_resample_random_blocks_like_rows(monkeypatch):
    y, (good, weak) = classification_case(n=60_000, accuracies=(0.80, 0.70), seed=4)
    almost = flip_row(good, y, np.flatnonzero(good == y)[0])
    preds = [good, almost, weak]
    assert y.size > resampling.ROW_BOOTSTRAP_MAX_ROWS  # the platform's sizes: blocks
    with monkeypatch.context() as patched:  # the row bootstrap of the same rows
        patched.setattr(resampling, "ROW_BOOTSTRAP_MAX_ROWS", y.size)
        rows = bootstrap_leaderboard(
            y=y, preds=preds, kind="classification", n_resamples=400, keep_samples=True
        )
    blocks = bootstrap_leaderboard(
        y=y, preds=preds, kind="classification", n_resamples=400, keep_samples=True
    )
    again = bootstrap_leaderboard(
        y=y, preds=preds, kind="classification", n_resamples=400, keep_samples=True
    )
    assert np.array_equal(blocks.samples, again.samples)  # seeded: reruns agree
    assert not np.array_equal(blocks.samples, rows.samples)  # blocks were drawn, not rows
    for r, b in zip(rows.entries, blocks.entries, strict=True):
        assert r.score == b.score  # point estimates are exact either way
        width_rows, width_blocks = r.score_high - r.score_low, b.score_high - b.score_low
        assert abs(width_blocks - width_rows) < 0.2 * width_rows
    assert blocks.best == 0
    assert blocks.tied_with_best == rows.tied_with_best == frozenset({0, 1})


def _ranks_by_pairs(samples: np.ndarray) -> np.ndarray:
    """Each resample's rank as 1 + the entries strictly better there, pair by pair (the
    counting ``_resample_ranks`` did before it sorted)."""
    return 1 + (samples[:, None, :] > samples[:, :, None]).sum(axis=2)


def test_resample_ranks_by_sorting_equal_the_count_of_better_entries() -> None:
    """Ties (rounded scores, a copied column, -0.0 beside 0.0), infinities and NaN (never
    better, nothing better than it) rank as counting every pair ranks them."""
    rng = np.random.default_rng(65)
    for trial in range(300):
        draws, entries = int(rng.integers(1, 40)), int(rng.integers(1, 30))
        samples = np.round(rng.normal(size=(draws, entries)), int(rng.integers(0, 3)))
        samples[:, rng.integers(0, entries)] = samples[:, 0]
        for value, share in ((-0.0, 0.1), (0.0, 0.1), (np.inf, 0.05), (-np.inf, 0.05)):
            samples[rng.random(samples.shape) < share * (trial % 2)] = value
        samples[rng.random(samples.shape) < 0.05 * (trial % 3 == 0)] = np.nan
        assert np.array_equal(_resample_ranks(samples), _ranks_by_pairs(samples)), trial
    assert _resample_ranks(np.empty((3, 0))).shape == (3, 0)
