"""Flip rates of board entries against one reference, with paired bootstrap intervals.

Point values are ``scoring.core.flips.flip_rates`` (docs/architecture.md §11: a row is
right as the task's kind says, ``is_right``: its label equals the truth, or a number is within the
task's tolerance of it; NFR = rows the reference got right and the entry got wrong, over
all rows of the split; PFR the reverse). Intervals resample the *same* rows as the score
bootstrap of :mod:`leaderboard.core.bootstrap` (its draws: ``resample_group_counts`` with
one group per row, or its random blocks above ``ROW_BOOTSTRAP_MAX_ROWS`` rows), so a
board's score and flip intervals come from one set of resamples. In a resample the rate
is the weighted count of flipped rows over the weighted count of rows; the interval runs
from the k-th smallest to the k-th largest of the B values, k = max(1, ceil(alpha/2 B)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from common.flips import RightRule, rows_right
from leaderboard.core.resampling import (
    N_BLOCKS,
    ROW_BOOTSTRAP_MAX_ROWS,
    block_assignment,
    fill_counts,
    resample_counts,
    resample_streams,
)
from scoring.core.flips import flip_rates

_CHUNK_BYTES = 32 * 2**20  # uint8 counts of the resamples processed at once


@dataclass(frozen=True, slots=True, kw_only=True)
class FlipInterval:
    """One entry's NFR and PFR on the rows compared, with their bootstrap intervals."""

    nfr: float
    nfr_low: float
    nfr_high: float
    pfr: float
    pfr_low: float
    pfr_high: float


def _tail(values: np.ndarray, alpha: float) -> tuple[float, float]:
    ordered = np.sort(values)
    k = max(1, math.ceil(alpha / 2 * ordered.shape[0] - 1e-9))
    return float(ordered[k - 1]), float(ordered[-k])


def flip_intervals(
    *,
    y: np.ndarray,
    preds: Sequence[np.ndarray],
    reference: np.ndarray,
    rows: np.ndarray | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    is_right: RightRule | None = None,
) -> list[FlipInterval]:
    """NFR/PFR of each of ``preds`` against ``reference`` on ``rows`` (mask or indices);
    ``is_right(y, pred)`` is the task's rule (default: equality).

    Empty when there are no rows to compare (no rates on an empty split).
    """
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    y = np.asarray(y)
    reference = np.asarray(reference)
    selected = np.arange(y.shape[0]) if rows is None else np.arange(y.shape[0])[np.asarray(rows)]
    n = int(selected.shape[0])
    if n == 0 or not preds:
        return []
    y_rows, ref_rows = y[selected], reference[selected]
    ref_right = rows_right(y_rows, ref_rows, is_right)
    everywhere = np.ones(n, dtype=bool)
    # One column per entry and kind of flip, plus the rows: per row (up to
    # ROW_BOOTSTRAP_MAX_ROWS rows), or summed per random block of the score bootstrap above.
    # Integer sums below 2**24 are exact in float32.
    big = n > ROW_BOOTSTRAP_MAX_ROWS
    codes = block_assignment(n=n, seed=seed) if big else None
    n_groups = N_BLOCKS if big else n
    dtype = np.float32 if n < 2**24 else np.float64
    table = np.empty((n_groups, 2 * len(preds) + 1), dtype=dtype)

    def put(column: int, mask: np.ndarray) -> None:
        table[:, column] = np.bincount(codes[mask], minlength=N_BLOCKS) if big else mask

    points = []
    for i, pred in enumerate(preds):
        pred_rows = np.asarray(pred)[selected]
        points.append(
            flip_rates(
                y=y_rows,
                pred=pred_rows,
                reference=ref_rows,
                is_public=everywhere,
                is_right=is_right,
            )["all"]
        )
        right = rows_right(y_rows, pred_rows, is_right)
        put(2 * i, ref_right & ~right)
        put(2 * i + 1, right & ~ref_right)
    table[:, -1] = np.bincount(codes, minlength=N_BLOCKS) if big else 1
    # Counts of a chunk of resamples at once (the bootstrap's own draws, uint8), then one
    # matrix product per chunk.
    # (kept per process when small: the same numbers as drawing them here)
    kept = resample_counts(seed=seed, n_resamples=n_resamples, n=n_groups)
    streams = resample_streams(seed=seed, n_resamples=n_resamples) if kept is None else []
    chunk = max(1, min(n_resamples, _CHUNK_BYTES // max(n_groups, 1)))
    samples = np.empty((n_resamples, table.shape[1] - 1))
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        counts = fill_counts(streams[start:stop], n_groups) if kept is None else kept[start:stop]
        totals = (counts.astype(dtype) @ table).astype(np.float64)
        samples[start:stop] = totals[:, :-1] / np.maximum(totals[:, -1:], 1.0)
    out = []
    for i, point in enumerate(points):
        nfr_low, nfr_high = _tail(samples[:, 2 * i], alpha)
        pfr_low, pfr_high = _tail(samples[:, 2 * i + 1], alpha)
        out.append(
            FlipInterval(
                nfr=point["nfr"],
                nfr_low=nfr_low,
                nfr_high=nfr_high,
                pfr=point["pfr"],
                pfr_low=pfr_low,
                pfr_high=pfr_high,
            )
        )
    return out


def nfr_prize_eligible(nfrs: Sequence[float | None], limit: float | None) -> bool:
    """The track's prize rule "eligible only below NFR x": every known NFR of the team's
    entries is strictly below ``limit``. No limit, or no NFR known (no reference to flip
    against), keeps a team eligible."""
    if limit is None:
        return True
    return all(nfr < limit for nfr in nfrs if nfr is not None and not math.isnan(nfr))
