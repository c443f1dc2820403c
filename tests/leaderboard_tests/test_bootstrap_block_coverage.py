"""Coverage of the bootstrap's random-block path, counted by simulation through the public
``transfer_cell`` (issue 43): above ``ROW_BOOTSTRAP_MAX_ROWS`` rows every board and
transfer cell resamples ``N_BLOCKS`` random blocks of rows instead of the rows, so the
intervals of that path must hold what the row bootstrap's do.

A truth is planted (an algorithm and a baseline whose rows are right, or whose errors are
drawn, from known and correlated laws: the delta between them is known exactly), a fresh
test set is drawn again and again with the platform's own bootstrap settings (1,000
resamples, seed 0: the same blocks every time, as on the platform), and the 95% interval of
the delta must hold the planted delta at about 95%, and be about as wide as the delta's
spread across the test sets says (not merely wide). Every repetition is seeded: the counts
are the same each run, and the bounds are about 2.4 binomial standard errors (0.0126 at 300
repetitions) either side of 95%.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from leaderboard.core import resampling
from leaderboard.core.bootstrap import bootstrap_leaderboard
from leaderboard.core.transfer import transfer_cell

REPETITIONS = 300
ROWS = 30_000  # above ROW_BOOTSTRAP_MAX_ROWS: the random blocks' path
Draw = Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray, np.ndarray]]


def _correlated_uniforms(rng: np.random.Generator, n: int, shared: float) -> np.ndarray:
    """Two uniform columns that are equal on a ``shared`` share of the rows (paired rows:
    an algorithm and its baseline tend to get the same rows right)."""
    common = rng.random(n)
    own = rng.random((2, n))
    same = rng.random(n) < shared
    return np.where(same, common, own)


def accuracy_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accuracy 0.82 against 0.80: the planted delta is 0.02."""
    y = rng.integers(0, 3, ROWS)
    u = _correlated_uniforms(rng, ROWS, shared=0.6)
    pred = np.where(u[0] < 0.82, y, (y + 1) % 3)
    baseline = np.where(u[1] < 0.80, y, (y + 2) % 3)
    return y, pred, baseline


def rmse_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normal errors of SD 1.0 against 1.1, correlated 0.5: the planted delta (lower RMSE
    is better) is 1.1 - 1.0."""
    y = rng.normal(0.0, 2.0, ROWS)
    common, own = rng.normal(size=ROWS), rng.normal(size=(2, ROWS))
    rho = 0.5
    errors = rho * common + np.sqrt(1 - rho * rho) * own
    return y, y + 1.0 * errors[0], y + 1.1 * errors[1]


def _f1(prevalence: float, recall: float, false_rate: float) -> float:
    tp, fp, fn = prevalence * recall, (1 - prevalence) * false_rate, prevalence * (1 - recall)
    return 2 * tp / (2 * tp + fp + fn)


PREVALENCE = 0.05


def f1_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rare positives (5%): recall 0.80 and 0.75, false positive rate 0.01 and 0.012."""
    y = (rng.random(ROWS) < PREVALENCE).astype(np.int64)
    u = _correlated_uniforms(rng, ROWS, shared=0.5)
    pred = np.where(y == 1, u[0] < 0.80, u[0] < 0.01).astype(np.int64)
    baseline = np.where(y == 1, u[1] < 0.75, u[1] < 0.012).astype(np.int64)
    return y, pred, baseline


CASES = {
    "classification accuracy": ("classification", accuracy_case, 0.82 - 0.80),
    "regression rmse": ("regression", rmse_case, 1.1 - 1.0),
    "matching f1, rare positives": (
        "matching",
        f1_case,
        _f1(PREVALENCE, 0.80, 0.01) - _f1(PREVALENCE, 0.75, 0.012),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_block_intervals_of_a_transfer_cell_hold_the_planted_delta(name):
    kind, draw, truth = CASES[name]
    assert resampling.ROW_BOOTSTRAP_MAX_ROWS < ROWS  # the path under test
    held = np.zeros(REPETITIONS, dtype=bool)
    widths, deltas = np.zeros(REPETITIONS), np.zeros(REPETITIONS)
    for r in range(REPETITIONS):
        y, pred, baseline = draw(np.random.default_rng((43, r)))
        cell = transfer_cell(y=y, pred=pred, baseline_pred=baseline, kind=kind)
        held[r] = cell.delta_low <= truth <= cell.delta_high
        widths[r], deltas[r] = cell.delta_high - cell.delta_low, cell.delta
    coverage = held.mean()
    assert 0.92 <= coverage <= 0.98, f"{name}: the 95% interval held {coverage:.3f}"
    # As wide as the delta's own spread over the test sets says a 95% interval should be.
    expected = 2 * 1.96 * deltas.std(ddof=1)
    assert 0.85 <= widths.mean() / expected <= 1.15, (name, widths.mean(), expected)


def test_cells_of_one_task_are_paired_on_the_same_blocks():
    """Two algorithms' cells against one baseline resample the same blocks: the difference
    of their resamples is the paired bootstrap of the two algorithms itself."""
    y, first, baseline = accuracy_case(np.random.default_rng(7))
    second = np.where(np.random.default_rng(8).random(ROWS) < 0.5, first, baseline)
    one = transfer_cell(y=y, pred=first, baseline_pred=baseline, kind="classification")
    two = transfer_cell(y=y, pred=second, baseline_pred=baseline, kind="classification")
    both = bootstrap_leaderboard(
        y=y, preds=[first, second], kind="classification", keep_samples=True
    )
    np.testing.assert_allclose(
        one.resamples - two.resamples, both.samples[:, 0] - both.samples[:, 1], atol=1e-12
    )
    again = transfer_cell(y=y, pred=first, baseline_pred=baseline, kind="classification")
    assert np.array_equal(again.resamples, one.resamples)  # seeded: the same every time


def test_the_kept_block_assignment_is_the_one_drawn_and_cannot_be_written():
    """Block assignments are kept per process: the same draws as a fresh generator for that
    size and seed, a new size or seed drawn afresh, none of them writable; a board's two
    splits (two sizes) drawn in turn are both kept."""
    def drawn(n: int, seed: int) -> np.ndarray:
        child = np.random.SeedSequence(seed, spawn_key=(resampling._BLOCK_STREAM,))
        generator = np.random.Generator(np.random.PCG64(child))
        return generator.integers(0, resampling.N_BLOCKS, size=n, dtype=np.uint16)

    first = resampling.block_assignment(n=50_000, seed=3)
    assert resampling.block_assignment(n=50_000, seed=3) is first  # kept
    for n, seed in ((50_000, 3), (50_001, 3), (50_000, 4)):
        blocks = resampling.block_assignment(n=n, seed=seed)
        assert np.array_equal(blocks, drawn(n, seed)), (n, seed)
        with pytest.raises(ValueError, match="read-only"):
            blocks[0] = 1
    assert resampling.block_assignment(n=50_000, seed=3) is first  # still kept
