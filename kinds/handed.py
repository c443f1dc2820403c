"""Rules shared by the kinds' checks of predictions handed over as arrays.

A run's output check reads the run's file once, in a capped process of its own, and hands
what it aligned to the worker as arrays (``scoring.core.handed``). That process parsed a
hostile file, so the worker trusts nothing of what it wrote: each kind says, in its
``handed_problem``, which arrays and which values its own reader could have produced, with
these helpers. Each returns the problem in words, or None. The arrays' shapes (one value per
test row) are checked before a kind is asked.
"""

from __future__ import annotations

import numpy as np

from kinds.columns import FloatColumns


def codes_problem(values: np.ndarray, *, high: int, what: str) -> str | None:
    """Integer codes in ``[0, high)``: anything else could index past an array sized by
    them (a ``bincount`` of a huge code is a huge allocation)."""
    if values.dtype.kind not in "iu":
        return f"{what} are {values.dtype}, not integer codes"
    if values.size and (int(values.min()) < 0 or int(values.max()) >= high):
        return f"{what} fall outside [0, {high}) (from {int(values.min())} to {int(values.max())})"
    return None


def floats_problem(
    values: np.ndarray, *, what: str, low: float = -np.inf, high: float = np.inf
) -> str | None:
    """Finite float64 values within ``[low, high]``."""
    if values.dtype != np.float64:
        return f"{what} are {values.dtype}, not float64 numbers"
    if values.size and not np.isfinite(values).all():
        return f"{what} hold NaN or infinite values"
    if values.size and (float(values.min()) < low or float(values.max()) > high):
        return f"{what} fall outside [{low:g}, {high:g}]"
    return None


def absent_problem(**arrays: np.ndarray | FloatColumns | None) -> str | None:
    """Arrays this kind never reads: given, they are a forgery (or another kind's)."""
    given = [name for name, value in arrays.items() if value is not None]
    return f"{' and '.join(given)} given, which this kind never reads" if given else None

