"""Flip rates of a submission against a reference on the same rows (DESIGN §11).

A row is right when its predicted label equals the truth. NFR = rows the reference got
right and the submission got wrong, divided by all rows of the split; PFR the reverse.
Every split in one ``bincount``; a split without rows gets no rates.
"""

from __future__ import annotations

import numpy as np


def flip_rates(
    *, y: np.ndarray, pred: np.ndarray, reference: np.ndarray, is_public: np.ndarray
) -> dict[str, dict[str, float]]:
    """``{"all"|"public"|"private": {"nfr": ..., "pfr": ...}}`` (empty dict: no rows)."""
    y, pred, reference = (np.asarray(a) for a in (y, pred, reference))
    if not (y.shape == pred.shape == reference.shape == np.shape(is_public)) or y.ndim != 1:
        raise ValueError("y, pred, reference and is_public must be 1-D of the same length")
    right = (pred == y).astype(np.int64)
    reference_right = (reference == y).astype(np.int64)
    cells = np.asarray(is_public, dtype=np.int64) * 4 + reference_right * 2 + right
    by_split = np.bincount(cells, minlength=8).reshape(2, 2, 2)  # split, ref right, right
    parts = {"all": by_split.sum(axis=0), "public": by_split[1], "private": by_split[0]}
    out: dict[str, dict[str, float]] = {}
    for split, counts in parts.items():
        rows = int(counts.sum())
        out[split] = (
            {"nfr": float(counts[1, 0] / rows), "pfr": float(counts[0, 1] / rows)} if rows else {}
        )
    return out
