"""Coverage of the decomposition's intervals, counted by simulation through the public
``decompose_transfer`` (issue 38): effects are planted, the matrix is drawn again and again
(a fresh interaction, fresh task effects, fresh row noise, the same missing cells), and each
figure's 95% interval must hold the planted value at about its level.

The tracks are the issue's: 4 algorithms x 3 tasks with one cell missing (interaction SD
0.15, row noise 0.02), 8 x 12 with 15% of the cells missing, one team owning one task, or
four, and one whose cells differ by row noise only. Where the bootstrap intervals held
69-86% (home advantage 41-86%), the model's must hold at least 90% for every effect. Every
repetition is seeded: the counts are the same each run, and the bounds are a few binomial
standard errors (about 0.013 at 300 repetitions) below 95%.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from leaderboard.core.benchmark.decomposition import (
    BenchmarkAlgorithm,
    BenchmarkTask,
    DeltaCell,
    decompose_transfer,
)

REPETITIONS = 300
N_RESAMPLES = 100


@dataclass(frozen=True)
class Track:
    name: str
    algorithm_effects: np.ndarray  # planted, summing to 0
    observed: np.ndarray  # (A, T) the cells that exist
    owned: tuple[int, ...]  # tasks the team of algorithm 0 contributed
    interaction_sd: float
    task_sd: float = 0.1
    row_sd: float = 0.02  # a cell's delta's row noise
    mean: float = 0.03


def _tracks() -> list[Track]:
    small = np.ones((4, 3), dtype=bool)
    small[3, 2] = False
    large = np.random.default_rng(38).random((8, 12)) >= 0.15
    large[0, :4] = True  # the owner ran every task it contributed
    large[1:, :4] |= np.eye(7, 4, dtype=bool)  # and another algorithm ran each of them
    return [
        Track("4x3, one owned task", np.array([-0.1, 0.0, 0.04, 0.06]), small, (0,), 0.15),
        Track("8x12, one owned task", np.linspace(-0.06, 0.06, 8), large, (0,), 0.15),
        Track("8x12, four owned tasks", np.linspace(-0.06, 0.06, 8), large, (0, 1, 2, 3), 0.15),
        # no interaction at all: the error is the cells' row noise alone
        Track(
            "8x12, row noise only",
            np.linspace(-0.06, 0.06, 8),
            large,
            (0, 1, 2, 3),
            0.0,
            row_sd=0.05,
        ),
    ]


TRACKS = _tracks()


def draw(track: Track, rng: np.random.Generator) -> tuple[list[DeltaCell], np.ndarray]:
    """One matrix of cells: the planted effects, a fresh interaction and task effects, row
    noise paired within a task (the baseline's rows, shared) and its B resamples; also the
    tasks' planted effects."""
    n_algorithms, n_tasks = track.observed.shape
    tau = rng.normal(0.0, track.task_sd, n_tasks)
    truth = (
        track.mean
        + track.algorithm_effects[:, None]
        + tau[None, :]
        + rng.normal(0.0, track.interaction_sd, (n_algorithms, n_tasks))
    )
    spread = track.row_sd / np.sqrt(2)
    shared = rng.normal(0.0, spread, (N_RESAMPLES + 1, 1, n_tasks))
    own = rng.normal(0.0, spread, (N_RESAMPLES + 1, n_algorithms, n_tasks))
    noisy = truth[None] + shared + own  # [0]: the delta; [1:]: its row resamples
    resamples = noisy[1:] - noisy[1:].mean(axis=0) + noisy[0]
    cells = [
        DeltaCell(
            algorithm=f"a{a}",
            task=f"t{t}",
            delta=float(noisy[0, a, t]),
            resamples=resamples[:, a, t],
        )
        for a, t in zip(*np.nonzero(track.observed), strict=True)
    ]
    return cells, tau


@dataclass
class Held:
    algorithm: np.ndarray  # (repetitions, A) planted effect inside its interval
    adjusted: np.ndarray  # (repetitions, A) planted mean + effect inside
    task: np.ndarray  # (repetitions, T) planted task effect (these tasks) inside
    mean: np.ndarray  # (repetitions,) planted mean (tasks like these) inside
    home: list[bool]  # the planted zero inside, where an interval is given
    home_given: int
    width: np.ndarray  # (repetitions, A) algorithm interval widths


def repeat(track: Track, *, first_seed: int) -> Held:
    n_algorithms, n_tasks = track.observed.shape
    algorithms = [
        BenchmarkAlgorithm(name=f"a{a}", team="owner" if a == 0 else f"team{a}")
        for a in range(n_algorithms)
    ]
    tasks = [
        BenchmarkTask(name=f"t{t}", owner="owner" if t in track.owned else None)
        for t in range(n_tasks)
    ]
    held = Held(
        algorithm=np.zeros((REPETITIONS, n_algorithms), dtype=bool),
        adjusted=np.zeros((REPETITIONS, n_algorithms), dtype=bool),
        task=np.zeros((REPETITIONS, n_tasks), dtype=bool),
        mean=np.zeros(REPETITIONS, dtype=bool),
        home=[],
        home_given=0,
        width=np.zeros((REPETITIONS, n_algorithms)),
    )
    for r in range(REPETITIONS):
        rng = np.random.default_rng(first_seed + r)
        cells, tau = draw(track, rng)
        result = decompose_transfer(algorithms=algorithms, tasks=tasks, cells=cells, seed=r)
        for a, effect in enumerate(result.algorithm_effects):
            low, high = effect.ci
            held.algorithm[r, a] = low <= track.algorithm_effects[a] <= high
            held.width[r, a] = high - low
            low, high = effect.adjusted_ci
            held.adjusted[r, a] = low <= track.mean + track.algorithm_effects[a] <= high
        for t, effect in enumerate(result.task_difficulty):
            held.task[r, t] = effect.ci[0] <= tau[t] - tau.mean() <= effect.ci[1]
        held.mean[r] = result.mean_ci[0] <= track.mean <= result.mean_ci[1]
        (home,) = result.home_advantage
        if home.ci is not None:
            held.home_given += 1
            held.home.append(home.ci[0] <= 0.0 <= home.ci[1])
        else:
            assert home.reason, "a home advantage without an interval says why"
    return held


@pytest.fixture(scope="module", params=TRACKS, ids=[t.name for t in TRACKS])
def coverage(request):
    track = request.param
    return track, repeat(track, first_seed=1000 * (TRACKS.index(track) + 1))


def test_every_algorithm_effect_interval_holds_the_planted_effect(coverage):
    _, held = coverage
    per_algorithm = held.algorithm.mean(axis=0)
    assert per_algorithm.min() >= 0.90, per_algorithm
    assert 0.93 <= held.algorithm.mean() <= 0.97  # about nominal overall, not merely wide


def test_home_advantage_interval_holds_a_planted_zero_and_is_given_with_four_owned_tasks(
    coverage,
):
    track, held = coverage
    if len(track.owned) == 4:
        assert held.home_given == REPETITIONS
    assert held.home_given >= REPETITIONS // 2
    assert np.mean(held.home) >= 0.90


def test_task_effect_and_mean_intervals_hold_their_planted_values(coverage):
    _, held = coverage
    assert held.task.mean(axis=0).min() >= 0.90
    assert held.mean.mean() >= 0.90
    assert held.adjusted.mean(axis=0).min() >= 0.90


def test_intervals_are_informative_not_merely_wide(coverage):
    track, held = coverage
    # t intervals at the residual df: about 2 t(df) sigma sqrt(Var factor) wide; far below
    # the spread of the planted effects on the large track.
    if track.observed.shape[0] == 8:
        assert np.median(held.width) < 0.3
