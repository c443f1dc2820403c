"""Joint coverage of the simultaneous rank sets (``leaderboard.core.rank_sets``), counted by
simulation (issue 65), beside the per-entry rank ranges the boards show.

A truth is planted: each entry's rate of right rows, with exact ties (two entries of one
rate, half of them the very same rows), near-ties 0.002-0.02 apart and wider gaps; rows
are correlated across entries (half of a row's draws are shared, as models tend to get the
same rows right). A fresh test set is drawn again and again with the platform's bootstrap
settings (1,000 draws, seed 0: the same draws every time, as on the platform), and a board
is covered when *every* entry's true rank (1 + the entries truly better) lies in its set.

- Joint coverage of the sets must be at least 0.93 at nominal 0.95 on boards of 5, 12 and
  30 entries at 200 and 2,000 rows. With REPETITIONS = 200 a binomial standard error at
  0.95 is 0.015: the procedure is conservative (the counts are 0.97-1.00), so 0.93 is at
  least 2.6 standard errors below every count.
- The per-entry ranges (the k-th smallest to the k-th largest rank over the same draws,
  ``leaderboard.core.bootstrap``) are measured on the same boards: their joint coverage is
  lower on every board of 12 and 30 entries, and below 0.93 on 30 entries.
- An entry 0.10 clear of both neighbours, among 30 at 2,000 rows, gets a set of one rank in
  at least 90% of the boards.

Every repetition is seeded: the counts are the same on every run.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from leaderboard.core.rank_sets import simultaneous_rank_sets
from leaderboard.core.resampling import resample_counts

REPETITIONS = 200
ALPHA = 0.05
DRAWS = 1000
# gaps between consecutive entries, best first: 0 is an exact tie
GAPS = (0.0, 0.002, 0.005, 0.01, 0.02, 0.0, 0.03, 0.004, 0.015, 0.05)


def _truth(entries: int) -> tuple[np.ndarray, list[int]]:
    """Each entry's rate of right rows, best first, and which entries copy the rows of the
    one above (half of the exact ties)."""
    gaps = [GAPS[i % len(GAPS)] for i in range(entries - 1)]
    rates = 0.9 - np.concatenate([[0.0], np.cumsum(gaps)])
    copies = [i + 1 for i, g in enumerate(gaps) if g == 0.0 and i % 2 == 0]
    return rates, copies


def _board(rng: np.random.Generator, rates: np.ndarray, copies: list[int], rows: int) -> np.ndarray:
    shared = rng.random(rows)
    u = np.where(rng.random((rates.size, rows)) < 0.5, shared, rng.random((rates.size, rows)))
    scores = (u < rates[:, None]).astype(float)
    for i in copies:
        scores[i] = scores[i - 1]
    return scores


def _true_ranks(rates: np.ndarray) -> np.ndarray:
    return 1 + (rates[None, :] > rates[:, None]).sum(axis=1)


def _per_entry_ranges(scores: np.ndarray) -> list[tuple[int, int]]:
    """The boards' per-entry rank range over the same draws (``bootstrap_leaderboard``)."""
    n = scores.shape[1]
    counts = resample_counts(seed=0, n_resamples=DRAWS, n=n)
    samples = (counts @ scores.T) / n
    ranks = np.sort(1 + (samples[:, None, :] > samples[:, :, None]).sum(axis=2), axis=0)
    k = max(1, math.ceil(ALPHA / 2 * DRAWS - 1e-9))
    return list(zip(ranks[k - 1].tolist(), ranks[DRAWS - k].tolist(), strict=True))


def _covered(sets: list[tuple[int, int]], truth: np.ndarray) -> bool:
    return all(low <= r <= high for (low, high), r in zip(sets, truth.tolist(), strict=True))


@pytest.mark.parametrize("entries", [5, 12, 30])
@pytest.mark.parametrize("rows", [200, 2000])
def test_the_sets_hold_jointly_and_the_per_entry_ranges_do_not(entries: int, rows: int) -> None:
    rates, copies = _truth(entries)
    truth = _true_ranks(rates)
    rng = np.random.default_rng(6500 + entries * 7 + rows)
    joint = naive = 0
    for _ in range(REPETITIONS):
        scores = _board(rng, rates, copies, rows)
        sets = simultaneous_rank_sets(scores=scores, alpha=ALPHA, draws=DRAWS, seed=0)
        for i in copies:
            assert sets[i] == sets[i - 1]
        joint += _covered(sets, truth)
        naive += _covered(_per_entry_ranges(scores), truth)
    joint_rate, naive_rate = joint / REPETITIONS, naive / REPETITIONS
    print(f"{entries} entries, {rows} rows: joint {joint_rate:.3f}, per-entry {naive_rate:.3f}")
    assert joint_rate >= 0.93
    if entries >= 12:
        assert naive_rate < joint_rate
    if entries >= 30:
        assert naive_rate < 0.93


def test_an_entry_clear_of_its_neighbours_gets_one_rank() -> None:
    rates, copies = _truth(30)
    rates = rates.copy()
    rates[10:] -= 0.2
    rates[9] = rates[10] + 0.1  # 0.10 above the entry below ...
    rates[:9] += rates[9] + 0.1 - rates[8]  # ... and 0.10 below the entry above
    assert rates.max() < 0.9 and rates.min() > 0.3
    rng = np.random.default_rng(6510)
    single = 0
    for _ in range(REPETITIONS):
        sets = simultaneous_rank_sets(scores=_board(rng, rates, copies, 2000), draws=DRAWS)
        single += sets[9] == (10, 10)
    print(f"single-rank sets of the clear entry: {single / REPETITIONS:.3f}")
    assert single / REPETITIONS >= 0.90


@pytest.mark.parametrize("teams", [5, 12])
def test_a_track_of_ten_tasks_holds_jointly(teams: int) -> None:
    """On a track the tasks are the units (``team_rank_sets``: at least 10): each team's
    value on a task is its level plus the task's effect (shared by every team, uniform
    +-0.1) plus a team x task interaction (SD 0.02), fresh each time; the levels have exact
    ties and near-ties 0.005-0.02 apart. Joint coverage at least 0.93 (measured 0.954 and
    0.958: 2.4 standard errors above the bar at the least)."""
    gaps = np.array([0, 0, 0.005, 0.01, 0.02, 0.03, 0.03, 0.05, 0.06, 0.08, 0.1, 0.12])
    level = 0.8 - gaps[:teams]
    truth = _true_ranks(level)
    rng = np.random.default_rng(6520 + teams)
    covered, tracks = 0, 500  # cheap: 500 tracks, a binomial standard error of 0.01
    for _ in range(tracks):
        values = (
            level[:, None] + rng.uniform(-0.1, 0.1, 10)[None, :] + rng.normal(0, 0.02, (teams, 10))
        )
        covered += _covered(simultaneous_rank_sets(scores=values), truth)
    print(f"track of 10 tasks, {teams} teams: joint {covered / tracks:.3f}")
    assert covered / tracks >= 0.93
