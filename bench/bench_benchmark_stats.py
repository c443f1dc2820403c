"""Time the benchmark statistics at the issue's scale: 50 algorithms x 20 tasks x 1000 resamples.

Each time is the best of up to ``--repeat`` runs (within a 10 s budget per row), and each
ratio is against a reference measured in the same run, on the same machine, with BLAS on
one thread (``--blas-threads``; a worker shares its cores, as the leaderboard bootstrap's
bench explains):

- decomposition: ``decompose_transfer`` on 50 x 20 cells (10% missing), 1000 paired row
  resamples, 10 teams with a home advantage - every effect, interval and share (the
  intervals from two OLS fits, the row noise from 1000 refits on the rows)
- point fit: one least-squares fit of the same cells on the dummy-coded design (numpy's
  lstsq), the textbook computation the decomposition starts from. decomposition / point fit
  says how many point fits the whole decomposition costs
- refit loop: the row-noise refits one resample at a time (lstsq on each row resample),
  timed on ``--sample`` resamples and scaled to 1000: what vectorizing saves
- who is first: ``who_is_first`` for 50 teams on 20 tasks, 1000 track resamples (P(first))
  and the pairwise intervals of every pair, against the point track mean (one mean over
  the tasks) and a loop over the resamples (sampled, scaled)
- frontier: ``quality_cost_frontier`` of 10,000 points against sorting them once

Run from the repository root: .venv/bin/python -m bench.bench_benchmark_stats [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from threadpoolctl import threadpool_limits

from bench.bench_bootstrap import best_of
from leaderboard.core.benchmark.decomposition import (
    BenchmarkAlgorithm,
    BenchmarkTask,
    DeltaCell,
    decompose_transfer,
)
from leaderboard.core.benchmark.first import TrackTaskScores, track_resample_draws, who_is_first
from leaderboard.core.benchmark.frontier import CostPoint, quality_cost_frontier


def transfer_case(
    *, n_algorithms: int, n_tasks: int, n_resamples: int, seed: int = 0
) -> tuple[list[BenchmarkAlgorithm], list[BenchmarkTask], list[DeltaCell], np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = (
        rng.normal(0, 0.05, (n_algorithms, 1))
        + rng.normal(0, 0.1, (1, n_tasks))
        + rng.normal(0, 0.03, (n_algorithms, n_tasks))
    )
    observed = rng.random(truth.shape) < 0.9
    observed[:, 0] = True
    shared = rng.normal(0, 0.01, (n_resamples, n_tasks))  # the baseline's rows, per task
    teams = [f"team{a % 25}" for a in range(n_algorithms)]
    owners = [f"team{t % 10}" for t in range(n_tasks)]
    algorithms = [BenchmarkAlgorithm(name=f"alg{a}", team=teams[a]) for a in range(n_algorithms)]
    tasks = [BenchmarkTask(name=f"task{t}", owner=owners[t]) for t in range(n_tasks)]
    cells = [
        DeltaCell(
            algorithm=f"alg{a}",
            task=f"task{t}",
            delta=float(truth[a, t]),
            resamples=truth[a, t] + shared[:, t] + rng.normal(0, 0.01, n_resamples),
        )
        for a, t in zip(*np.nonzero(observed), strict=True)
    ]
    return algorithms, tasks, cells, observed


def design(observed: np.ndarray) -> np.ndarray:
    """The dummy-coded design of the observed cells: intercept, algorithms, tasks."""
    n_algorithms, n_tasks = observed.shape
    rows, columns = np.nonzero(observed)
    matrix = np.zeros((rows.size, 1 + n_algorithms + n_tasks))
    matrix[:, 0] = 1
    matrix[np.arange(rows.size), 1 + rows] = 1
    matrix[np.arange(rows.size), 1 + n_algorithms + columns] = 1
    return matrix


def refit_loop(
    cells: list[DeltaCell], observed: np.ndarray, *, n_resamples: int, sample: int
) -> float:
    """Seconds for ``sample`` row resamples refitted one by one, scaled to
    ``n_resamples``."""
    x = design(observed)
    stacked = np.stack([c.resamples for c in cells], axis=1)  # cells are in observed order
    start = time.perf_counter()
    for b in range(sample):
        np.linalg.lstsq(x, stacked[b], rcond=None)
    return (time.perf_counter() - start) * n_resamples / sample


def track_case(
    *, n_teams: int, n_tasks: int, n_resamples: int, seed: int = 1
) -> list[TrackTaskScores]:
    rng = np.random.default_rng(seed)
    out = []
    for t in range(n_tasks):
        point = rng.uniform(0.6, 0.9, n_teams)
        resamples = (
            point[None, :]
            + rng.normal(0, 0.02, (n_resamples, 1))
            + rng.normal(0, 0.01, (n_resamples, n_teams))
        )
        out.append(TrackTaskScores(task=f"task{t}", point=point, resamples=resamples))
    return out


def first_loop(tasks: list[TrackTaskScores], *, n_resamples: int, sample: int) -> float:
    """Seconds for ``sample`` track resamples computed one by one (the mean and the split
    first place who_is_first keeps), scaled."""
    task_draws, row_draws = track_resample_draws(
        n_tasks=len(tasks),
        n_row_resamples=tasks[0].resamples.shape[0],
        n_resamples=n_resamples,
        seed=0,
    )
    n_teams = tasks[0].point.size
    first = np.zeros(n_teams)
    start = time.perf_counter()
    for b in range(sample):
        means = sum(
            tasks[task_draws[b, j]].resamples[row_draws[b, j]] for j in range(len(tasks))
        ) / len(tasks)
        best = means == means.max()
        first += best / best.sum()
    return (time.perf_counter() - start) * n_resamples / sample


def run(args: argparse.Namespace) -> None:
    n_resamples = 100 if args.quick else 1000
    sample = min(args.sample, n_resamples)
    n_algorithms, n_tasks = 50, 20
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}; {n_algorithms} algorithms x {n_tasks} tasks, "
        f"{n_resamples} resamples, best of up to {args.repeat}, BLAS threads "
        f"{args.blas_threads}"
    )

    algorithms, tasks, cells, observed = transfer_case(
        n_algorithms=n_algorithms, n_tasks=n_tasks, n_resamples=n_resamples
    )
    seconds, result = best_of(
        lambda: decompose_transfer(algorithms=algorithms, tasks=tasks, cells=cells),
        repeat=args.repeat,
    )
    x, y = design(observed), np.array([c.delta for c in cells])
    point, _ = best_of(lambda: np.linalg.lstsq(x, y, rcond=None), repeat=max(args.repeat, 5))
    loop = refit_loop(cells, observed, n_resamples=n_resamples, sample=sample)
    estimated = sum(h.value is not None for h in result.home_advantage)
    print(f"\ndecomposition ({len(cells)} cells, {estimated} home advantages)")
    print(f"  decompose_transfer   {seconds:8.3f} s")
    print(f"  point fit (lstsq)    {point:8.4f} s   decomposition = {seconds / point:,.0f}x")
    print(
        f"  refit loop (scaled)  {loop:8.3f} s   {loop / seconds:.1f}x the decomposition "
        f"(timed on {sample} resamples)"
    )

    track = track_case(n_teams=n_algorithms, n_tasks=n_tasks, n_resamples=n_resamples)
    teams = [f"team{i}" for i in range(n_algorithms)]
    seconds, first = best_of(lambda: who_is_first(teams=teams, tasks=track), repeat=args.repeat)
    point, _ = best_of(
        lambda: np.mean([t.point for t in track], axis=0), repeat=max(args.repeat, 5)
    )
    loop = first_loop(track, n_resamples=first.n_resamples, sample=sample)
    print(
        f"\nwho is first ({n_algorithms} teams, {n_tasks} tasks; P(first) drew "
        f"{first.n_resamples:,} resamples: {n_resamples:,}, more where one was within its "
        "Monte Carlo error of 0)"
    )
    print(f"  who_is_first         {seconds:8.3f} s")
    print(f"  point track mean     {point:8.5f} s   who_is_first = {seconds / point:,.0f}x")
    print(f"  resample loop        {loop:8.3f} s   {loop / seconds:.1f}x who_is_first (scaled)")

    rng = np.random.default_rng(2)
    many = [
        CostPoint(name=f"p{i}", quality=float(q), cpu_seconds=float(c))
        for i, (q, c) in enumerate(zip(rng.random(10_000), rng.random(10_000) * 1e4, strict=True))
    ]
    seconds, frontier = best_of(lambda: quality_cost_frontier(points=many), repeat=args.repeat)
    reference, _ = best_of(
        lambda: sorted(many, key=lambda p: (p.cpu_seconds, p.name)), repeat=args.repeat
    )
    print(f"\nfrontier (10,000 points, {len(frontier.frontier)} on it)")
    print(f"  quality_cost_frontier {seconds:7.3f} s   {seconds / reference:.1f}x one sort")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 resamples instead of 1000")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (within 10 s)")
    parser.add_argument("--sample", type=int, default=50, help="resamples the loops time")
    parser.add_argument("--blas-threads", type=int, default=1, help="as a worker runs it")
    args = parser.parse_args()
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        run(args)


if __name__ == "__main__":
    main()
