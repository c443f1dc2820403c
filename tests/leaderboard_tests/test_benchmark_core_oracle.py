"""Oracle tests of the transfer decomposition: synthetic matrices built from rows with known
algorithm effects, task effects, interaction and home advantage (no Django, no database).

Every repetition has its own fixed seed, so each run computes the same numbers: the
tolerances below are not about chance between runs but about how far a correct method may
sit from the truth on these draws (each is several standard errors wide).
"""

from dataclasses import dataclass

import numpy as np
import pytest

from leaderboard.core.benchmark.decomposition import decompose_transfer
from tests.leaderboard_tests.benchmark_synthetic import (
    double_centered,
    synthetic,
)

N_ALGORITHMS, N_TASKS = 8, 12
TEAMS = [f"team{a}" for a in range(N_ALGORITHMS)]
OWNERS = [f"team{t % 4}" for t in range(N_TASKS)]  # teams 0-3 contributed 3 tasks each
ALGORITHM_EFFECTS = np.linspace(-0.06, 0.06, N_ALGORITHMS)
REPETITIONS = 100


def test_effects_and_interaction_are_recovered_from_a_full_matrix():
    rng = np.random.default_rng(2026)
    tau = rng.normal(0, 0.1, N_TASKS)
    tau -= tau.mean()
    gamma = double_centered(rng, (N_ALGORITHMS, N_TASKS), 0.04)
    truth = 0.03 + ALGORITHM_EFFECTS[:, None] + tau[None, :] + gamma
    case = synthetic(rng=rng, truth=truth, n_rows=2000, row_sd=0.3, n_resamples=300)
    result = decompose_transfer(algorithms=case.algorithms, tasks=case.tasks, cells=case.cells)

    # Row noise: a cell's delta has a standard deviation of about 0.01, a task effect (which
    # carries the baseline's noise, shared by the task's cells) about 0.007, an algorithm
    # effect about 0.003. Tolerances are four or more of those.
    assert result.mean == pytest.approx(0.03, abs=0.01)
    found = np.array([e.effect for e in result.algorithm_effects])
    assert np.max(np.abs(found - ALGORITHM_EFFECTS)) < 0.015
    assert np.max(np.abs([e.effect for e in result.task_difficulty] - tau)) < 0.03
    interaction = np.array([c.interaction for c in result.cell_fits]).reshape(gamma.shape)
    assert np.corrcoef(interaction.ravel(), gamma.ravel())[0, 1] > 0.9
    deviations = truth - truth.mean()
    true_share = np.sum(gamma**2) / np.sum(deviations**2)
    # The measured share carries the row noise too; noise_share says how much of it.
    assert result.noise_share < result.interaction_share
    assert result.interaction_share - result.noise_share == pytest.approx(true_share, abs=0.03)


def test_with_no_interaction_the_share_is_what_row_noise_alone_explains():
    rng = np.random.default_rng(7)
    tau = rng.normal(0, 0.05, N_TASKS)
    truth = ALGORITHM_EFFECTS[:, None] + tau[None, :]
    case = synthetic(rng=rng, truth=truth, n_rows=400, row_sd=0.5, n_resamples=300)
    result = decompose_transfer(algorithms=case.algorithms, tasks=case.tasks, cells=case.cells)
    assert 0.6 < result.interaction_share / result.noise_share < 1.6
    # The share describes these cells: no interval, and the reason why.
    assert result.interaction_share_ci is None and result.interaction_share_reason


@dataclass
class Coverage:
    algorithm: list[bool]  # planted algorithm effect inside its interval
    task: list[bool]  # planted task effect (relative to these tasks) inside its interval
    home: list[bool]  # planted home advantage inside its interval
    home_values: list[float]
    widths: list[float]  # algorithm effect interval widths


def repeat(*, home_advantage: float, first_seed: int) -> Coverage:
    """REPETITIONS matrices with 15% of cells missing, a fresh interaction (sd 0.05) and fresh
    task effects each time; teams 0 and 1 gain ``home_advantage`` on the tasks they gave."""
    coverage = Coverage([], [], [], [], [])
    planted_home = np.array([home_advantage, home_advantage, 0.0, 0.0])
    for repetition in range(REPETITIONS):
        rng = np.random.default_rng(first_seed + repetition)
        tau = rng.normal(0, 0.1, N_TASKS)
        interaction = rng.normal(0, 0.05, (N_ALGORITHMS, N_TASKS))
        truth = ALGORITHM_EFFECTS[:, None] + tau[None, :] + interaction
        for t in range(N_TASKS):
            truth[t % 4, t] += planted_home[t % 4]
        observed = rng.random(truth.shape) < 0.85
        observed[:, 0] = True
        for t in range(N_TASKS):
            observed[t % 4, t] = True  # every contributing team ran each of its tasks
        case = synthetic(
            rng=rng,
            truth=truth,
            observed=observed,
            n_rows=300,
            row_sd=0.5,
            n_resamples=200,
            algorithm_teams=TEAMS,
            task_owners=OWNERS,
        )
        result = decompose_transfer(
            algorithms=case.algorithms, tasks=case.tasks, cells=case.cells, seed=repetition
        )
        for effect, true in zip(result.algorithm_effects, ALGORITHM_EFFECTS, strict=True):
            coverage.algorithm.append(effect.ci[0] <= true <= effect.ci[1])
            coverage.widths.append(effect.ci[1] - effect.ci[0])
        for effect, true in zip(result.task_difficulty, tau - tau.mean(), strict=True):
            coverage.task.append(effect.ci[0] <= true <= effect.ci[1])
        for home, true in zip(result.home_advantage, planted_home, strict=True):
            coverage.home.append(home.ci[0] <= true <= home.ci[1])
            coverage.home_values.append(home.value - true)
    return coverage


@pytest.fixture(scope="module")
def without_home():
    return repeat(home_advantage=0.0, first_seed=10_000)


@pytest.fixture(scope="module")
def with_home():
    return repeat(home_advantage=0.06, first_seed=20_000)


def test_algorithm_effect_intervals_cover_the_planted_effects_at_about_95_percent(without_home):
    # 800 intervals of the two-way model (t on the residual df); the coverage tests of
    # test_benchmark_coverage.py count more repetitions on more designs.
    assert 0.92 <= np.mean(without_home.algorithm) <= 0.99
    assert np.mean(without_home.widths) < 0.12  # informative, not merely wide


def test_task_effect_intervals_cover_the_planted_effects_at_about_95_percent(without_home):
    assert 0.92 <= np.mean(without_home.task) <= 0.98


def test_home_advantage_is_about_zero_when_none_is_planted(without_home):
    # 400 intervals, each team with 3 tasks of its own, fitted jointly.
    assert abs(np.mean(without_home.home_values)) < 0.01
    assert 0.90 <= np.mean(without_home.home) <= 0.98


def test_a_planted_home_advantage_is_recovered_and_covered(with_home):
    assert abs(np.mean(with_home.home_values)) < 0.01  # estimate - planted, on average
    assert 0.90 <= np.mean(with_home.home) <= 0.98
