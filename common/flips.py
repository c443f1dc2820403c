"""Prediction flips of a new submission against a reference, counted per split.

A row is *right* as the task's kind says (``kinds``: ``TaskKind.rows_right``;
docs/architecture.md §11: the prediction equals the truth, or for numbers is within the
task's tolerance of it). Callers pass that rule as ``is_right(y, pred) -> bool per row``; without
one, equality.

- positive flip: the reference was wrong, the new prediction is right;
- negative flip: the reference was right, the new prediction is wrong. The negative flip rate
  ``NFR = negative flips / rows`` measures regressions that an unchanged or better score
  can hide; PFR is the reverse.

``split_flips`` is the core: per split (``all``, ``public``, ``private``) the counts, the
rates and the first example rows, all from one ``bincount`` over the rows. ``flips`` (one
row subset, for the insight page) and ``scoring.core.flips.flip_rates`` (NFR/PFR per split,
for scoring) are views of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from common.splits import SPLITS

RightRule = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``is_right(y, pred)``: per row, whether ``pred`` is right about the truth ``y``."""


def rows_right(y: np.ndarray, pred: np.ndarray, is_right: RightRule | None = None) -> np.ndarray:
    """Per row, whether ``pred`` is right: ``is_right``, or equality without one."""
    return np.asarray(is_right(y, pred) if is_right is not None else pred == y, dtype=bool)


@dataclass(frozen=True, slots=True, kw_only=True)
class FlipReport:
    """Flip counts and shares over ``n_rows`` rows, with example row ids of each kind."""

    n_rows: int
    positive: int  # ref wrong, new right
    negative: int  # ref right, new wrong
    both_right: int
    both_wrong: int  # includes rows where both are wrong with different predictions
    positive_share: float  # positive / n_rows (0.0 when there are no rows): the PFR
    negative_share: float  # the negative flip rate (NFR)
    positive_examples: tuple[Any, ...]  # first ids in row order
    negative_examples: tuple[Any, ...]

    @property
    def rates(self) -> dict[str, float]:
        """``{"nfr": ..., "pfr": ...}``; empty without rows (a split without rows has none)."""
        if not self.n_rows:
            return {}
        return {"nfr": self.negative_share, "pfr": self.positive_share}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (examples as lists)."""
        out = asdict(self)
        out["positive_examples"] = list(self.positive_examples)
        out["negative_examples"] = list(self.negative_examples)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FlipReport:
        """The inverse of ``to_dict``."""
        values = {name: data[name] for name in cls.__dataclass_fields__}
        values["positive_examples"] = tuple(values["positive_examples"])
        values["negative_examples"] = tuple(values["negative_examples"])
        return cls(**values)


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars, so reports serialize to JSON as they are."""
    return value.item() if isinstance(value, np.generic) else value


def _example_ids(positions: np.ndarray, ids: Any) -> tuple[Any, ...]:
    if ids is None:
        return tuple(int(i) for i in positions)
    return tuple(_plain(ids[int(i)]) for i in positions)


def split_flips(
    *,
    y: np.ndarray,
    pred: np.ndarray,
    reference: np.ndarray,
    is_public: np.ndarray,
    examples: int = 0,
    ids: Sequence[Any] | np.ndarray | None = None,
    is_right: RightRule | None = None,
) -> dict[str, FlipReport]:
    """``{"all"|"public"|"private": FlipReport}`` of ``pred`` against ``reference`` on ``y``.

    All arrays are aligned by row; ``is_public`` is a boolean mask of the public rows (the
    rest are private). Examples are the first ``examples`` flipped rows of each split in row
    order, given as ``ids[row]`` when ``ids`` is passed, else as row positions.
    """
    if examples < 0:
        raise ValueError("examples must be >= 0")
    y, pred, reference = (np.asarray(a) for a in (y, pred, reference))
    public = np.asarray(is_public, dtype=bool)
    if not (y.shape == pred.shape == reference.shape == public.shape) or y.ndim != 1:
        raise ValueError("y, pred, reference and is_public must be 1-D of the same length")
    if ids is not None and len(ids) != y.shape[0]:
        raise ValueError("ids must have one id per row of y")
    right = rows_right(y, pred, is_right)
    reference_right = rows_right(y, reference, is_right)
    cells = public.astype(np.int64) * 4 + reference_right * 2 + right
    by_split = np.bincount(cells, minlength=8).reshape(2, 2, 2)  # split, ref right, right
    counts = {"all": by_split.sum(axis=0), "public": by_split[1], "private": by_split[0]}
    positive_rows = negative_rows = np.empty(0, dtype=np.int64)
    if examples:
        positive_rows = np.flatnonzero(right & ~reference_right)
        negative_rows = np.flatnonzero(reference_right & ~right)
    out: dict[str, FlipReport] = {}
    for split in SPLITS:
        c = counts[split]
        n_rows = int(c.sum())
        positive, negative = int(c[0, 1]), int(c[1, 0])
        if split == "all":
            pos, neg = positive_rows[:examples], negative_rows[:examples]
        else:
            keep = split == "public"
            pos = positive_rows[public[positive_rows] == keep][:examples]
            neg = negative_rows[public[negative_rows] == keep][:examples]
        out[split] = FlipReport(
            n_rows=n_rows,
            positive=positive,
            negative=negative,
            both_right=int(c[1, 1]),
            both_wrong=int(c[0, 0]),
            positive_share=positive / n_rows if n_rows else 0.0,
            negative_share=negative / n_rows if n_rows else 0.0,
            positive_examples=_example_ids(pos, ids),
            negative_examples=_example_ids(neg, ids),
        )
    return out


def flips(
    *,
    y: np.ndarray,
    new_pred: np.ndarray,
    ref_pred: np.ndarray,
    rows: np.ndarray | None = None,
    examples: int = 5,
    ids: Sequence[Any] | np.ndarray | None = None,
    is_right: RightRule | None = None,
) -> FlipReport:
    """Compare ``new_pred`` with ``ref_pred`` on the truth ``y`` (all aligned by row).

    ``rows`` is a boolean mask or an index array restricting the comparison (e.g. public
    rows). Examples are the first ``examples`` flipped rows in row order, given as
    ``ids[row]`` when ``ids`` (aligned with ``y``) is passed, else as row positions in ``y``.
    """
    y, new_pred, ref_pred = (np.asarray(a) for a in (y, new_pred, ref_pred))
    if y.ndim != 1 or new_pred.shape != y.shape or ref_pred.shape != y.shape:
        raise ValueError("y, new_pred and ref_pred must be 1-D arrays of the same length")
    if rows is None:
        selected = np.ones(y.shape, dtype=bool)
    else:
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != y.shape:
                raise ValueError(f"rows mask has shape {rows.shape}, expected {y.shape}")
            selected = rows
        else:
            selected = np.zeros(y.shape, dtype=bool)
            selected[rows] = True  # each row once, in row order
    reports = split_flips(
        y=y,
        pred=new_pred,
        reference=ref_pred,
        is_public=selected,
        examples=examples,
        ids=ids,
        is_right=is_right,
    )
    return reports["public"]  # the selected rows
