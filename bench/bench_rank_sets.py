"""What the simultaneous rank sets add to a board's refresh (issue 65).

    .venv/bin/python bench/bench_rank_sets.py              # 100 and 300 teams, 100 x 200 track
    .venv/bin/python bench/bench_rank_sets.py --repeat 1   # one run each (a shared machine)

A task board's interval job (``leaderboard_bootstrap_compute``) computes its paired bootstrap
(``bootstrap_leaderboard``, 1,000 resamples, the samples kept as the job keeps them for
P(first)) and each entry's flips against the primary reference (``flip_intervals``); the
rank sets then read the same samples (``rank_sets.board_rank_sets``). **bootstrap** is the
first alone, **before** the two statistics the job computes today, **after** those and the
sets (the job's reading of the predictions and writing of the rows, the same either way,
are left out). The boards are classification boards of ``--rows`` rows (2,000
by default: the row bootstrap's regime) with ``--teams`` entries whose accuracies spread over
0.60-0.90, a few exact duplicates among them. The track is the transfer matrix's shape (100
algorithms x 200 tasks, ``bench/bench_transfer_scale.py``): the sets resample its tasks
(``simultaneous_rank_sets`` on the 100 x 200 values). Each time is the best of ``--repeat``
runs (the least disturbed on a shared machine). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from leaderboard.core.bootstrap import bootstrap_leaderboard
from leaderboard.core.flipboard import flip_intervals
from leaderboard.core.rank_sets import board_rank_sets, simultaneous_rank_sets

T = TypeVar("T")


def best_of(run: Callable[[], T], repeat: int) -> tuple[float, T]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return best, result


def board(teams: int, rows: int, seed: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, rows)
    shared = rng.random(rows)
    preds = []
    for i, accuracy in enumerate(rng.uniform(0.6, 0.9, teams)):
        if i % 25 == 24:
            preds.append(preds[-1].copy())  # a team uploading another's file: an exact tie
            continue
        u = np.where(rng.random(rows) < 0.5, shared, rng.random(rows))
        preds.append(np.where(u < accuracy, y, (y + 1) % 3))
    return y, preds


def task_board_row(teams: int, rows: int, repeat: int) -> str:
    y, preds = board(teams, rows)
    reference = np.where(np.random.default_rng(7).random(rows) < 0.25, (y + 2) % 3, y)
    bootstrap_leaderboard(y=y, preds=preds, kind="classification", keep_samples=True)  # warm
    scores, result = best_of(
        lambda: bootstrap_leaderboard(y=y, preds=preds, kind="classification", keep_samples=True),
        repeat,
    )
    flips, _ = best_of(lambda: flip_intervals(y=y, preds=preds, reference=reference), repeat)
    sets_time, sets = best_of(
        lambda: board_rank_sets(
            samples=result.samples,
            points=[e.score for e in result.entries],
            is_baseline=[False] * teams,
            higher_is_better=True,
        ),
        repeat,
    )
    before = scores + flips
    return (
        f"| task board, {teams} teams x {rows:,} rows | {scores:.2f} s | {before:.2f} s "
        f"| {before + sets_time:.2f} s | +{sets_time:.2f} s ({(before + sets_time) / before:.2f}x) "
        f"| {len(set(sets))} distinct sets |"
    )


def track_row(teams: int, tasks: int, repeat: int) -> str:
    rng = np.random.default_rng(1)
    skill = rng.normal(0, 0.03, teams)
    difficulty = rng.uniform(0.5, 0.9, tasks)
    values = np.clip(
        difficulty[None, :] + skill[:, None] + rng.normal(0, 0.02, (teams, tasks)), 0, 1
    )
    elapsed, sets = best_of(lambda: simultaneous_rank_sets(scores=values), repeat)
    return (
        f"| track, {teams} teams x {tasks} tasks (tasks resampled) | — | — | {elapsed:.2f} s "
        f"| +{elapsed:.2f} s | {len(set(sets))} distinct sets |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"numpy {np.__version__}"
    )
    print("| board | bootstrap | before (bootstrap + flips) | after (+ rank sets) | added | sets |")
    print("|---|---|---|---|---|---|")
    for teams in args.teams:
        print(task_board_row(teams, args.rows, args.repeat), flush=True)
    print(track_row(100, 200, args.repeat), flush=True)


if __name__ == "__main__":
    main()
