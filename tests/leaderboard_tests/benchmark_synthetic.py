"""Synthetic transfer matrices with known effects, built from rows as the platform builds them.

Each task has ``n_rows`` test rows. A row's score for the baseline and for every algorithm is
a row difficulty shared by all of them (cancelled by pairing) plus independent noise; an
algorithm's true delta on the task is planted. A cell's delta is the mean over the rows of
(algorithm - baseline), and its resamples draw the task's rows with replacement, the same
draw for every algorithm on the task (paired) - the same structure as the leaderboard's
bootstrap, so the noise of the cells of one task is correlated through the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leaderboard.core.benchmark.additive import fit_additive
from leaderboard.core.benchmark.decomposition import BenchmarkAlgorithm, BenchmarkTask, DeltaCell


@dataclass(frozen=True)
class Synthetic:
    algorithms: list[BenchmarkAlgorithm]
    tasks: list[BenchmarkTask]
    cells: list[DeltaCell]
    truth: np.ndarray  # (A, T) planted deltas without row noise
    observed: np.ndarray  # (A, T) bool


def names(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:02d}" for i in range(n)]


def double_centered(rng: np.random.Generator, shape: tuple[int, int], sd: float) -> np.ndarray:
    """A random interaction whose rows and columns sum to 0 (what a full fit recovers)."""
    raw = rng.normal(0.0, sd, shape)
    return raw - raw.mean(axis=0) - raw.mean(axis=1, keepdims=True) + raw.mean()


def row_counts(rng: np.random.Generator, *, n_rows: int, n_resamples: int) -> np.ndarray:
    """(B, n) how often each row is drawn by each resample (n draws with replacement)."""
    drawn = rng.integers(0, n_rows, (n_resamples, n_rows))
    drawn += n_rows * np.arange(n_resamples)[:, None]  # one bincount for every resample
    return np.bincount(drawn.ravel(), minlength=n_resamples * n_rows).reshape(n_resamples, n_rows)


def synthetic(
    *,
    rng: np.random.Generator,
    truth: np.ndarray,
    observed: np.ndarray | None = None,
    n_rows: int = 300,
    row_sd: float = 0.5,
    n_resamples: int = 200,
    algorithm_teams: list[str | None] | None = None,
    task_owners: list[str | None] | None = None,
) -> Synthetic:
    n_algorithms, n_tasks = truth.shape
    observed = np.ones(truth.shape, dtype=bool) if observed is None else observed
    algorithm_names, task_names = names("alg", n_algorithms), names("task", n_tasks)
    teams = algorithm_teams or [None] * n_algorithms
    owners = task_owners or [None] * n_tasks
    cells = []
    for t in range(n_tasks):
        shared = rng.normal(0.0, 0.3, n_rows)
        baseline = shared + rng.normal(0.0, row_sd, n_rows)
        counts = row_counts(rng, n_rows=n_rows, n_resamples=n_resamples)
        for a in np.flatnonzero(observed[:, t]):
            rows = truth[a, t] + shared + rng.normal(0.0, row_sd, n_rows) - baseline
            cells.append(
                DeltaCell(
                    algorithm=algorithm_names[a],
                    task=task_names[t],
                    delta=float(rows.mean()),
                    resamples=counts @ rows / n_rows,
                )
            )
    return Synthetic(
        algorithms=[
            BenchmarkAlgorithm(name=n, team=team)
            for n, team in zip(algorithm_names, teams, strict=True)
        ],
        tasks=[BenchmarkTask(name=n, owner=o) for n, o in zip(task_names, owners, strict=True)],
        cells=cells,
        truth=truth,
        observed=observed,
    )


def noise_free_fit(truth: np.ndarray, observed: np.ndarray):
    """The decomposition the cells would give without row noise: the conditional truth."""
    return fit_additive(values=truth[None, None], observed=observed)
