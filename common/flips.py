"""Prediction flips of a new submission against a reference (e.g. the team's previous best).

A row is *right* when the prediction equals the truth (class index, or 0/1 for matching).

- positive flip: the reference was wrong, the new prediction is right;
- negative flip: the reference was right, the new prediction is wrong. The negative flip rate
  ``NFR = negative flips / rows`` measures regressions that an unchanged or better score
  can hide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True, kw_only=True)
class FlipReport:
    """Flip counts and shares over ``n_rows`` rows, with example row ids of each kind."""

    n_rows: int
    positive: int  # ref wrong, new right
    negative: int  # ref right, new wrong
    both_right: int
    both_wrong: int  # includes rows where both are wrong with different predictions
    positive_share: float  # positive / n_rows (0.0 when there are no rows)
    negative_share: float  # the negative flip rate (NFR)
    positive_examples: tuple[Any, ...]  # first ids in row order
    negative_examples: tuple[Any, ...]


def _examples(mask: np.ndarray, positions: np.ndarray, ids: Any, limit: int) -> tuple[Any, ...]:
    first = positions[np.flatnonzero(mask)[:limit]]
    if ids is None:
        return tuple(int(i) for i in first)
    return tuple(_plain(ids[int(i)]) for i in first)


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars, so reports serialize to JSON as they are."""
    return value.item() if isinstance(value, np.generic) else value


def flips(
    *,
    y: np.ndarray,
    new_pred: np.ndarray,
    ref_pred: np.ndarray,
    rows: np.ndarray | None = None,
    examples: int = 5,
    ids: Sequence[Any] | np.ndarray | None = None,
) -> FlipReport:
    """Compare ``new_pred`` with ``ref_pred`` on the truth ``y`` (all aligned by row).

    ``rows`` is a boolean mask or an index array restricting the comparison (e.g. public
    rows). Examples are the first ``examples`` flipped rows in row order, given as
    ``ids[row]`` when ``ids`` (aligned with ``y``) is passed, else as row positions in ``y``.
    """
    if examples < 0:
        raise ValueError("examples must be >= 0")
    y = np.asarray(y)
    new_pred = np.asarray(new_pred)
    ref_pred = np.asarray(ref_pred)
    if y.ndim != 1 or new_pred.shape != y.shape or ref_pred.shape != y.shape:
        raise ValueError("y, new_pred and ref_pred must be 1-D arrays of the same length")
    if ids is not None and len(ids) != y.shape[0]:
        raise ValueError("ids must have one id per row of y")

    positions = np.arange(y.shape[0])
    if rows is not None:
        rows = np.asarray(rows)
        if rows.dtype == bool and rows.shape != y.shape:
            raise ValueError(f"rows mask has shape {rows.shape}, expected {y.shape}")
        positions = positions[rows]
        if rows.dtype != bool:
            positions = np.unique(positions)  # row order, each row once

    truth = y[positions]
    new_right = new_pred[positions] == truth
    ref_right = ref_pred[positions] == truth
    positive_mask = new_right & ~ref_right
    negative_mask = ref_right & ~new_right

    n_rows = int(positions.shape[0])
    positive = int(positive_mask.sum())
    negative = int(negative_mask.sum())
    both_right = int((new_right & ref_right).sum())
    return FlipReport(
        n_rows=n_rows,
        positive=positive,
        negative=negative,
        both_right=both_right,
        both_wrong=n_rows - positive - negative - both_right,
        positive_share=positive / n_rows if n_rows else 0.0,
        negative_share=negative / n_rows if n_rows else 0.0,
        positive_examples=_examples(positive_mask, positions, ids, examples),
        negative_examples=_examples(negative_mask, positions, ids, examples),
    )
