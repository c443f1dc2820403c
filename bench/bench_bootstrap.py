"""Time the vectorized paired bootstrap against a naive reference on this machine.

The reference is the textbook loop: for each resample, for each entry, ``np.take`` the
per-row indicators at the drawn indices and reduce. Both use the same resamples
(`resample_indices`), so the bench also checks that they agree exactly.

    .venv/bin/python bench/bench_bootstrap.py            # 1000 resamples (a few minutes)
    .venv/bin/python bench/bench_bootstrap.py --quick    # 100 resamples, a smoke run

Each time is the best of up to ``--repeat`` runs (fewer when a run is slow): the machine is
shared, and the minimum is the least disturbed measurement.

Prints seconds and the ratio naive / vectorized per configuration, the time it takes only to
draw the resamples (the floor both methods share: n random row indices per resample), and
the peak memory the vectorized bootstrap allocated (numpy allocations, via tracemalloc).

Then a catalog-scale board (``BENCH_BOOTSTRAP_ROWS`` rows, default 30M; 10 entries, int32
predictions as the platform stores them): the block bootstrap used above 2**14 rows,
against the row bootstrap and its draw-only floor, both timed on ``--sample-resamples``
resamples in the same run and scaled to the full count. ``--no-huge`` skips it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import numpy as np

from kinds import kind_get
from leaderboard.core import bootstrap as bootstrap_module
from leaderboard.core import resampling, row_sums
from leaderboard.core.bootstrap import bootstrap_leaderboard, point_scores, resample_indices

T = TypeVar("T")


def best_of(run: Callable[[], T], *, repeat: int, budget: float = 10.0) -> tuple[float, T]:
    """Min seconds over up to ``repeat`` runs (fewer once ``budget`` seconds are spent)."""
    best, spent, result = float("inf"), 0.0, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        elapsed = time.perf_counter() - start
        best, spent = min(best, elapsed), spent + elapsed
        if spent > budget:
            break
    assert result is not None
    return best, result


def make_case(
    *, kind: str, n_entries: int, n_rows: int, seed: int = 0
) -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    if kind == "classification":
        y = rng.integers(0, 5, n_rows)
        wrong = (y + 1) % 5
    else:
        y = (rng.random(n_rows) < 0.3).astype(np.int64)
        wrong = 1 - y
    quality = np.linspace(0.6, 0.95, n_entries)
    preds = [np.where(rng.random(n_rows) < q, y, wrong) for q in quality]
    return y, preds


def naive_bootstrap(
    *, y: np.ndarray, preds: Sequence[np.ndarray], kind: str, n_resamples: int, seed: int
) -> np.ndarray:
    """Python loop over resamples, np.take per entry: the reference."""
    n = y.shape[0]
    scores = np.empty((n_resamples, len(preds)))
    if kind == "classification":
        correct = [p == y for p in preds]
        for b, idx in enumerate(resample_indices(n=n, seed=seed, n_resamples=n_resamples)):
            for e, c in enumerate(correct):
                scores[b, e] = np.take(c, idx).sum() / n
        return scores
    truth = y.astype(bool)
    predicted = [p.astype(bool) for p in preds]
    hits = [p & truth for p in predicted]
    for b, idx in enumerate(resample_indices(n=n, seed=seed, n_resamples=n_resamples)):
        positives = np.take(truth, idx).sum()
        for e in range(len(preds)):
            tp = np.take(hits[e], idx).sum()
            denominator = np.take(predicted[e], idx).sum() + positives
            scores[b, e] = 2 * tp / denominator if denominator else 0.0
    return scores


def draw_only(*, n_rows: int, n_resamples: int, seed: int) -> int:
    """Only draw the resamples' indices: the cost both methods share."""
    drawn = 0
    for idx in resample_indices(n=n_rows, seed=seed, n_resamples=n_resamples):
        drawn += idx.shape[0]
    return drawn


@contextlib.contextmanager
def rows_drawn(n_rows: int) -> Iterator[None]:
    """The row bootstrap at ``n_rows`` rows: the grid compares it with the naive loop at
    every size (the platform resamples random blocks above ROW_BOOTSTRAP_MAX_ROWS rows,
    2**14 since issue 43: the catalog-scale board below)."""
    kept = resampling.ROW_BOOTSTRAP_MAX_ROWS
    resampling.ROW_BOOTSTRAP_MAX_ROWS = max(kept, n_rows)
    try:
        yield
    finally:
        resampling.ROW_BOOTSTRAP_MAX_ROWS = kept


def vectorized(
    *, y: np.ndarray, preds: Sequence[np.ndarray], kind: str, n_resamples: int, seed: int
) -> np.ndarray:
    with rows_drawn(y.shape[0]):
        result = bootstrap_leaderboard(
            y=y, preds=preds, kind=kind, n_resamples=n_resamples, seed=seed, keep_samples=True
        )
    assert result.samples is not None
    return result.samples


def peak_mib(
    *, y: np.ndarray, preds: Sequence[np.ndarray], kind: str, n_resamples: int, seed: int
) -> float:
    """Peak numpy allocation of one run, traced apart (tracing slows every allocation)."""
    tracemalloc.start()
    with rows_drawn(y.shape[0]):
        bootstrap_leaderboard(y=y, preds=preds, kind=kind, n_resamples=n_resamples, seed=seed)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def huge_case(n_rows: int, n_entries: int = 10) -> tuple[np.ndarray, list[np.ndarray]]:
    """int32 labels and predictions, as the platform loads them (no int64 copies)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, n_rows, dtype=np.int32)
    wrong = (y + 1) % 5
    quality = np.linspace(0.6, 0.95, n_entries)
    return y, [np.where(rng.random(n_rows) < q, y, wrong) for q in quality]


def huge_board(*, n_rows: int, n_resamples: int, sample: int) -> None:
    y, preds = huge_case(n_rows)
    n_entries = len(preds)
    print(
        f"\n{n_rows:,} rows, {n_entries} entries, {n_resamples} resamples "
        f"(row bootstrap timed on {sample} resamples and scaled)"
    )
    seconds, _ = best_of(
        lambda: bootstrap_leaderboard(
            y=y, preds=preds, kind="classification", n_resamples=n_resamples
        ),
        repeat=1,
    )
    one_pass, _ = best_of(lambda: point_scores(y=y, preds=preds, kind="classification"), repeat=1)
    start = time.perf_counter()
    row_sums._resample_scores(  # the row bootstrap, forced (private on purpose)
        y,
        preds,
        kind_get("classification").statistic("accuracy"),
        n_resamples=sample,
        seed=0,
        chunk_bytes=bootstrap_module.DEFAULT_CHUNK_BYTES,
    )
    rows_seconds = (time.perf_counter() - start) * n_resamples / sample
    floor, _ = best_of(lambda: draw_only(n_rows=n_rows, n_resamples=sample, seed=0), repeat=1)
    floor *= n_resamples / sample
    tracemalloc.start()
    bootstrap_leaderboard(y=y, preds=preds, kind="classification", n_resamples=n_resamples)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    inputs = (y.nbytes + sum(p.nbytes for p in preds)) / 2**20
    print(f"  block bootstrap      {seconds:8.1f} s  ({seconds / n_entries:.2f} s per entry)")
    print(
        f"  one pass (points)    {one_pass:8.1f} s  (block bootstrap = {seconds / one_pass:.1f}x)"
    )
    print(
        f"  row bootstrap        {rows_seconds:8.1f} s  (scaled; "
        f"{rows_seconds / seconds:.0f}x the block bootstrap)"
    )
    print(f"  draw-only floor      {floor:8.1f} s  (scaled; rows' indices alone)")
    print(f"  peak allocated       {peak / 2**20:8.0f} MiB beyond the {inputs:,.0f} MiB of inputs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 resamples instead of 1000")
    parser.add_argument("--no-large", action="store_true", help="skip the 1M-row memory row")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (within 10 s)")
    parser.add_argument("--no-grid", action="store_true", help="skip the naive comparison grid")
    parser.add_argument("--no-huge", action="store_true", help="skip the catalog-scale board")
    parser.add_argument("--sample-resamples", type=int, default=3, help="row bootstrap sample")
    args = parser.parse_args()
    n_resamples = 100 if args.quick else 1000
    seed, repeat = 0, args.repeat

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, {n_resamples} resamples, "
        f"best of up to {repeat}"
    )
    header = (
        f"{'kind':<15}{'entries':>8}{'rows':>10}{'vectorized s':>14}{'naive s':>10}"
        f"{'ratio':>8}{'draw-only s':>13}{'peak MiB':>10}  same"
    )
    print(header)
    print("-" * len(header))
    grid = [
        ("classification", 10, 10_000),
        ("classification", 10, 100_000),
        ("classification", 100, 10_000),
        ("classification", 100, 100_000),
        ("matching", 10, 100_000),
        ("matching", 100, 100_000),
    ]
    for kind, n_entries, n_rows in [] if args.no_grid else grid:
        y, preds = make_case(kind=kind, n_entries=n_entries, n_rows=n_rows)
        case = {"y": y, "preds": preds, "kind": kind, "n_resamples": n_resamples, "seed": seed}
        seconds, samples = best_of(lambda case=case: vectorized(**case), repeat=repeat)
        naive_seconds, reference = best_of(lambda case=case: naive_bootstrap(**case), repeat=repeat)
        floor, _ = best_of(
            lambda n_rows=n_rows: draw_only(n_rows=n_rows, n_resamples=n_resamples, seed=seed),
            repeat=repeat,
        )
        peak = peak_mib(**case)
        same = np.array_equal(samples, reference)
        close = same or np.allclose(samples, reference, rtol=0, atol=1e-12)
        print(
            f"{kind:<15}{n_entries:>8}{n_rows:>10}{seconds:>14.2f}{naive_seconds:>10.2f}"
            f"{naive_seconds / seconds:>7.1f}x{floor:>13.2f}{peak:>10.0f}  "
            f"{'exact' if same else 'close' if close else 'DIFFERENT'}"
        )
    if not args.no_large:
        y, preds = make_case(kind="classification", n_entries=10, n_rows=1_000_000)
        case = {
            "y": y,
            "preds": preds,
            "kind": "classification",
            "n_resamples": n_resamples,
            "seed": seed,
        }
        seconds, _ = best_of(lambda: vectorized(**case), repeat=1)
        floor, _ = best_of(
            lambda: draw_only(n_rows=1_000_000, n_resamples=n_resamples, seed=seed), repeat=1
        )
        peak = peak_mib(**case)
        print(
            f"{'classification':<15}{10:>8}{1_000_000:>10}{seconds:>14.2f}{'-':>10}{'-':>8}"
            f"{floor:>13.2f}{peak:>10.0f}  (a resamples x rows int64 index matrix: "
            f"{n_resamples * 8:,} MB)"
        )
    if not args.no_huge:
        huge_board(
            n_rows=int(os.environ.get("BENCH_BOOTSTRAP_ROWS", 30_000_000)),
            n_resamples=n_resamples,
            sample=args.sample_resamples,
        )


if __name__ == "__main__":
    main()
