"""The step-down's search for each draw's maximum (``leaderboard.core.rank_sets``): the
sets equal those recorded from the search it replaced (float32, every pair in every draw,
commit 4531be10) on seeded boards with exact ties, near-ties, a pair that never moves and
discrete units, and its critical values equal a plain float64 step-down that computes every
hypothesis in every draw."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from leaderboard.core.bootstrap import bootstrap_leaderboard
from leaderboard.core.rank_sets import (
    _resampled_means,
    board_rank_sets,
    rank_sets_from_replicates,
    simultaneous_rank_sets,
)

RECORDED = json.loads((Path(__file__).parent / "rank_sets_recorded.json").read_text())


def _boards():
    """Seeded boards (name, entries x units scores, draws, seed, alpha): 0/1 and continuous
    units, exact ties (copied rows), a near-tie, a constant offset (a pair whose difference
    never moves), few units, many entries."""
    rng = np.random.default_rng(6501)
    for number in range(32):
        p = int(rng.choice([2, 3, 5, 12, 30, 60]))
        n = int(rng.choice([12, 40, 80, 400]))
        means = 0.5 + float(rng.choice([0.002, 0.05, 0.15, 0.3])) * rng.standard_normal(p)
        if p >= 8:
            means[7] = means[6] + 0.002  # a near-tie
        if number % 2:  # 0/1 units sharing half their randomness: discrete, tied values
            shared = rng.random(n)
            u = np.where(rng.random((p, n)) < 0.5, shared, rng.random((p, n)))
            scores = (u < np.clip(means, 0.05, 0.95)[:, None]).astype(float)
        else:
            scores = means[:, None] + 0.1 * rng.standard_normal((p, n))
        if p >= 3:
            scores[2] = scores[1]  # an exact tie
        if p >= 5:
            scores[4] = scores[3] + 0.01 * (number % 3)  # a constant offset (0: a tie)
        alpha = 0.2 if number % 4 == 3 else 0.05
        yield f"board-{number}", scores, int(rng.choice([200, 500])), number, alpha


def _task_board(teams: int, rows: int, seed: int):
    """A classification board's paired bootstrap (kept samples) with a few exact ties (a team
    uploading another's predictions) and three baselines."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, rows)
    shared = rng.random(rows)
    preds = []
    for i, accuracy in enumerate(rng.uniform(0.6, 0.9, teams)):
        if i % 25 == 24:
            preds.append(preds[-1].copy())
            continue
        u = np.where(rng.random(rows) < 0.5, shared, rng.random(rows))
        preds.append(np.where(u < accuracy, y, (y + 1) % 3))
    result = bootstrap_leaderboard(y=y, preds=preds, kind="classification", keep_samples=True)
    baseline = [i in (0, 5, 17) for i in range(teams)]
    return result.samples, np.array([e.score for e in result.entries]), baseline


def _full_search(est: np.ndarray, reps: np.ndarray, alpha: float):
    """The step-down with every hypothesis H_jk (j != k) computed in every draw, float64:
    (critical values, better[j, k]). A pair whose difference does not move across the
    draws (range within the module's rounding scale) is left out, separated when not 0."""
    draws = reps.shape[0]
    scale = 1e-12 * (1.0 + np.abs(reps).max() + np.abs(est).max())
    d = reps[:, :, None] - reps[:, None, :]  # draws x j x k
    flat = d.max(axis=0) - d.min(axis=0) <= scale
    np.fill_diagonal(flat, True)
    sd = np.where(flat, 1.0, d.std(axis=0))
    gap = est[:, None] - est[None, :]
    t = np.where(flat, 0.0, gap / sd)
    centred = (d - gap[None]) / sd[None]
    better = flat & (gap > scale)
    alive = ~flat
    critical = []
    order = math.ceil((1 - alpha) * draws - 1e-9)
    while alive.any():
        maxima = np.where(alive[None], centred, -np.inf).reshape(draws, -1).max(axis=1)
        c = float(np.sort(maxima)[order - 1])
        critical.append(c)
        new = alive & (t > c)
        if not new.any():
            break
        better |= new
        alive &= ~new
    return critical, better


def _board_replicates(scores: np.ndarray, draws: int, seed: int):
    unique = np.unique(scores, axis=0)  # identical rows are one entry, as in the module
    return unique.mean(axis=1), _resampled_means(unique, seed=seed, draws=draws)


@pytest.mark.parametrize(("name", "scores", "draws", "seed", "alpha"), list(_boards()))
def test_the_sets_are_those_of_the_search_they_replaced(name, scores, draws, seed, alpha):
    sets = simultaneous_rank_sets(scores=scores, draws=draws, seed=seed, alpha=alpha)
    assert [list(s) for s in sets] == RECORDED[name]


@pytest.mark.parametrize(("name", "scores", "draws", "seed", "alpha"), list(_boards()))
def test_the_search_equals_every_hypothesis_in_every_draw(name, scores, draws, seed, alpha):
    est, reps = _board_replicates(scores, draws, seed)
    result = rank_sets_from_replicates(estimates=est, replicates=reps, alpha=alpha)
    critical, better = _full_search(est, reps, alpha)
    assert result.critical == pytest.approx(critical, rel=1e-9)
    assert np.array_equal(result.better, better)


@pytest.mark.parametrize(("teams", "rows", "seed"), [(40, 300, 1), (100, 2000, 0)])
def test_a_task_boards_sets_are_those_of_the_search_they_replaced(teams, rows, seed):
    samples, points, baseline = _task_board(teams, rows, seed)
    sets = board_rank_sets(
        samples=samples, points=points, is_baseline=baseline, higher_is_better=True
    )
    assert [None if s is None else list(s) for s in sets] == RECORDED[f"task-board-{teams}"]
    flipped = board_rank_sets(
        samples=-samples, points=-points, is_baseline=baseline, higher_is_better=False
    )
    assert flipped == sets
