"""What the simultaneous rank sets add to a board's refresh (issue 65), before and after.

    .venv/bin/python bench/bench_rank_sets.py                   # 100 and 300 teams, 100 x 200 track
    .venv/bin/python bench/bench_rank_sets.py --repeat 3
    .venv/bin/python bench/bench_rank_sets.py --before-code /tmp/before   # + today's code

A task board's interval job (``leaderboard_bootstrap_compute``) computes its paired bootstrap
(``bootstrap_leaderboard``, 1,000 resamples, the samples kept as the job keeps them for
P(first)) and each entry's flips against the primary reference (``flip_intervals``); the
rank sets then read the same samples (``rank_sets.board_rank_sets``): no second bootstrap.
**before** is the job's statistics without the sets, **after** the same with them, run in
turn in this process (their order swapped every repeat), each the best of ``--repeat``
runs (the least disturbed on a shared machine), in CPU seconds (all threads: the wall clock
of a loaded machine mostly measures the other jobs); **after / before** is what the sets add.
The job's reading of the predictions and writing of the rows, the same either way, are left
out, so the ratio is an upper bound on the whole refresh's. With ``--before-code PATH`` (a
checkout of the code to compare with, e.g. ``git archive <commit> | tar -x -C PATH``), the
same *before* statistics are also timed with that code, in a child process started afresh
each repeat between the in-process runs (timed inside it, after a warm-up run): **after /
today** is a board's statistics with the sets against the same board's without them before
the change. The boards are classification boards of ``--rows`` rows (2,000 by default: the
row bootstrap's regime) with ``--teams`` entries whose accuracies spread over 0.60-0.90, a
few exact duplicates among them. The track is the transfer matrix's shape (100 algorithms x
200 tasks, ``bench/bench_transfer_scale.py``): its sets resample its tasks
(``simultaneous_rank_sets`` on the 100 x 200 values), computed on read and cached with the
board, so its row compares the sets alone, with this code and with ``--before-code``'s.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from leaderboard.core.bootstrap import bootstrap_leaderboard
from leaderboard.core.flipboard import flip_intervals
from leaderboard.core.rank_sets import board_rank_sets, simultaneous_rank_sets


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


def track(teams: int = 100, tasks: int = 200) -> np.ndarray:
    rng = np.random.default_rng(1)
    skill = rng.normal(0, 0.03, teams)
    difficulty = rng.uniform(0.5, 0.9, tasks)
    noise = rng.normal(0, 0.02, (teams, tasks))
    return np.clip(difficulty[None, :] + skill[:, None] + noise, 0, 1)


def job(teams: int, rows: int) -> tuple[Callable[[], object], Callable[[], object]]:
    """The interval job's statistics on a board: (without the sets, with them)."""
    y, preds = board(teams, rows)
    reference = np.where(np.random.default_rng(7).random(rows) < 0.25, (y + 2) % 3, y)

    def before() -> object:
        result = bootstrap_leaderboard(y=y, preds=preds, kind="classification", keep_samples=True)
        flip_intervals(y=y, preds=preds, reference=reference)
        return result

    def after() -> object:
        result = before()
        return board_rank_sets(
            samples=result.samples,
            points=[e.score for e in result.entries],
            is_baseline=[False] * teams,
            higher_is_better=True,
        )

    return before, after


def timed(run: Callable[[], object]) -> float:
    """The CPU seconds ``run`` takes (all its threads): on a machine shared with other jobs
    the wall clock mostly measures their load."""
    start = time.process_time()
    run()
    return time.process_time() - start


def child(shape: str, rows: int) -> None:
    """Time *before* once after a warm-up (``--child``: run with the code to compare with)."""
    if shape == "track":
        values = track()
        run: Callable[[], object] = lambda: simultaneous_rank_sets(scores=values)  # noqa: E731
    else:
        run = job(int(shape), rows)[0]
    run()
    print(timed(run))


def today(code: Path, shape: str, rows: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(code)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", shape, "--rows", str(rows)],
        env=env,
        cwd=code,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.split()[-1])


def measure(runs: dict[str, Callable[[], float]], repeat: int) -> dict[str, float]:
    """Best of ``repeat`` of each, run in turn, the order reversed every other repeat."""
    best = dict.fromkeys(runs, float("inf"))
    names = list(runs)
    for r in range(repeat):
        for name in names if r % 2 == 0 else names[::-1]:
            best[name] = min(best[name], runs[name]())
    return best


def task_board_row(teams: int, rows: int, repeat: int, code: Path | None) -> str:
    before, after = job(teams, rows)
    after()  # warm
    runs = {"before": lambda: timed(before), "after": lambda: timed(after)}
    if code is not None:
        runs["today"] = lambda: today(code, str(teams), rows)
    best = measure(runs, repeat)
    then = (
        f"{best['today']:.3f} s | {best['after'] / best['today']:.2f}x"
        if code is not None
        else "— | —"
    )
    return (
        f"| task board, {teams} teams x {rows:,} rows | {best['before']:.3f} s "
        f"| {best['after']:.3f} s | {best['after'] / best['before']:.2f}x | {then} |"
    )


def track_row(repeat: int, code: Path | None) -> str:
    values = track()
    simultaneous_rank_sets(scores=values)  # warm
    runs = {"sets": lambda: timed(lambda: simultaneous_rank_sets(scores=values))}
    if code is not None:
        runs["today"] = lambda: today(code, "track", 0)
    best = measure(runs, repeat)
    then = (
        f"{best['today']:.3f} s (sets alone) | {best['sets'] / best['today']:.2f}x"
        if code is not None
        else "— | —"
    )
    return (
        f"| track, {values.shape[0]} teams x {values.shape[1]} tasks (tasks resampled) | — "
        f"| +{best['sets']:.3f} s (sets alone) | — | {then} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before-code", type=Path, default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.rows)
        return
    code = None if args.before_code is None else args.before_code.resolve()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"numpy {np.__version__}, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        "| board | before (no sets) | after (with sets) | after / before | today | after / today |"
    )
    print("|---|---|---|---|---|---|")
    for teams in args.teams:
        print(task_board_row(teams, args.rows, args.repeat, code), flush=True)
    print(track_row(args.repeat, code), flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
