"""The public/private split of the test rows: deterministic from a seed, stratified by label."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

PUBLIC = "public"
PRIVATE = "private"


def split_public_private(labels: pd.Series, *, public_fraction: float, seed: int) -> pd.Series:
    """Return ``"public"`` / ``"private"`` per row, aligned with ``labels``.

    Per class (in sorted order), the class's rows are shuffled with one
    ``numpy.random.Generator(seed)`` and the first ``round(public_fraction * n)`` (halves up)
    are public. When every row lands on one side, one row moves to the other so both splits
    are scored. Needs at least two rows.
    """
    if len(labels) < 2:
        raise ValueError("the split needs at least two rows")
    rng = np.random.default_rng(seed)
    text = labels.astype("string").to_numpy()
    public = np.zeros(len(labels), dtype=bool)
    for value in sorted(set(text)):
        rows = rng.permutation(np.flatnonzero(text == value))
        public[rows[: math.floor(public_fraction * len(rows) + 0.5)]] = True
    if not public.any():
        public[rng.integers(len(public))] = True
    elif public.all():
        public[rng.integers(len(public))] = False
    return pd.Series(np.where(public, PUBLIC, PRIVATE), index=labels.index, dtype="string")
