"""Time the board's flip intervals (NFR/PFR against the primary reference, with their
bootstrap intervals) against the score bootstrap of the same board, in the same run.

Both run when a board's intervals are computed (``leaderboard_bootstrap_compute``), on the
same resamples; the ratio says what the flip columns add to that job on this machine.

    .venv/bin/python -m bench.bench_flips            # 1000 resamples
    .venv/bin/python -m bench.bench_flips --quick    # 100 resamples

Each time is the best of ``--repeat`` runs (the machine is shared).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from leaderboard.core.bootstrap import bootstrap_leaderboard
from leaderboard.core.flipboard import flip_intervals


def best_of(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 resamples")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--entries", type=int, default=10)
    args = parser.parse_args()
    resamples = 100 if args.quick else 1000
    rng = np.random.default_rng(0)
    print(f"{resamples} resamples, {args.entries} entries + 1 reference")
    print(f"{'rows':>10}  {'scores s':>9}  {'flips s':>8}  {'flips / scores':>14}")
    for n in (10_000, 100_000, 1_000_000, 2_000_000):
        y = rng.integers(0, 3, n).astype(np.int32)
        preds = [
            np.where(rng.random(n) < 0.2, (y + 1) % 3, y).astype(np.int32)
            for _ in range(args.entries)
        ]
        reference = np.where(rng.random(n) < 0.25, (y + 2) % 3, y).astype(np.int32)
        scores = best_of(
            lambda y=y, preds=preds: bootstrap_leaderboard(
                y=y, preds=preds, kind="classification", n_resamples=resamples
            ),
            args.repeat,
        )
        flips = best_of(
            lambda y=y, preds=preds, reference=reference: flip_intervals(
                y=y, preds=preds, reference=reference, n_resamples=resamples
            ),
            args.repeat,
        )
        print(f"{n:>10,}  {scores:>9.2f}  {flips:>8.2f}  {flips / scores:>14.2f}")


if __name__ == "__main__":
    main()
