"""What the benchmark statistics share: the percentile interval, the resample chunks and
the checks that refuse NaN and malformed arrays with a message naming the input."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from leaderboard.core.bootstrap import _tail_index

CHUNK_BYTES = 32 * 2**20  # float64 working arrays held at once per chunk of resamples


def check_alpha(alpha: float) -> None:
    """Refuse a level outside (0, 1): the intervals are central 1 - alpha intervals."""
    number = isinstance(alpha, int | float | np.integer | np.floating)
    if isinstance(alpha, bool) or not (number and 0 < alpha < 1):
        raise ValueError(f"alpha must be between 0 and 1 (exclusive), not {alpha!r}")


def tail_index(alpha: float, n: int) -> int:
    """k = max(1, ceil(alpha / 2 * n)): intervals run from the k-th smallest to the k-th
    largest of n values (the leaderboard bootstrap's rule, kept in one place there)."""
    return _tail_index(alpha, n)


def percentile_interval(samples: np.ndarray, *, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Along axis 0 of B values: the k-th smallest and the k-th largest value, with
    k = max(1, ceil(alpha / 2 * B)), the leaderboard bootstrap's rule
    (`leaderboard.core.bootstrap`): bounds are observed values, and at most k - 1 values lie
    outside on each side."""
    n = samples.shape[0]
    k = tail_index(alpha, n)
    ordered = np.sort(samples, axis=0)
    return ordered[k - 1], ordered[n - k]


def resample_chunks(*, n_resamples: int, bytes_per_resample: int) -> Iterator[slice]:
    """Slices of the resamples small enough to hold ``CHUNK_BYTES`` of working arrays."""
    step = max(1, CHUNK_BYTES // max(1, bytes_per_resample))
    for start in range(0, n_resamples, step):
        yield slice(start, min(n_resamples, start + step))


def finite_number(value: object, *, what: str) -> float:
    """``value`` as a float; a clear error for None, NaN, infinities and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{what} must be a number, not {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} is {number}: only finite numbers can be used")
    return number


def finite_vector(value: object, *, length: int | None, what: str) -> np.ndarray:
    """``value`` as a one-dimensional float64 array with ``length`` finite entries (not a
    copy when it already is one: callers only read it)."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} must be an array of numbers ({error})") from None
    if array.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, not of shape {array.shape}")
    if length is not None and array.shape[0] != length:
        raise ValueError(f"{what} has {array.shape[0]} values, expected {length}")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ValueError(
            f"{what} holds {array[bad[0]]} at position {int(bad[0])} "
            f"({bad.size} value(s) not finite): only finite numbers can be used"
        )
    return array
