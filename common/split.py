"""The public/private split of the test rows: deterministic from a seed, stratified.

Two ways to split, chosen by the task's kind (``kinds``): rows stratified by a label
(classification and matching by their label; a kind may stratify by something else, such
as the bins of a number), or whole entities (grouping: every record of an entity lands on
the same side, so that the pairs of an entity are scored in one split).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    import pandas as pd

PUBLIC = "public"
PRIVATE = "private"


def _codes(labels: pa.Array) -> tuple[np.ndarray, int]:
    """Per row, the rank of its label among the sorted distinct labels (in the narrowest
    integer type that holds them: at 10M rows an int64 code was 80 MB more to write); and
    their count."""
    encoded = pc.dictionary_encode(labels.cast(pa.string()))
    count = len(encoded.dictionary)
    rank = np.empty(count, dtype=np.min_scalar_type(max(count - 1, 0)))
    rank[pc.array_sort_indices(encoded.dictionary).to_numpy()] = np.arange(count)  # UTF-8 order
    return rank[encoded.indices.to_numpy(zero_copy_only=False)], count


def public_rows(labels: pa.Array, *, public_fraction: float, seed: int) -> np.ndarray:
    """True per public row (see :func:`split_public_private`), from an Arrow label column."""
    if len(labels) < 2:
        raise ValueError("the split needs at least two rows")
    rng = np.random.default_rng(seed)
    codes, count = _codes(labels)
    # Rows of each label, in row order (a stable sort has one answer; on codes of 16 bits
    # or fewer, up to 65,536 labels, numpy's stable sort is a radix sort).
    order = np.argsort(codes, kind="stable")
    # Where each label's rows start among them (a count of narrow codes would cast them all).
    bounds = np.searchsorted(codes[order], np.arange(count + 1))
    public = np.zeros(len(labels), dtype=bool)
    for k in range(count):
        rows = rng.permutation(order[bounds[k] : bounds[k + 1]])
        public[rows[: math.floor(public_fraction * len(rows) + 0.5)]] = True
    _both_sides(public, rng)
    return public


def public_entities(entities: pa.Array, *, public_fraction: float, seed: int) -> np.ndarray:
    """True per public row, choosing whole entities.

    The distinct entities (sorted) are shuffled with ``numpy.random.Generator(seed)``; the
    first ``round(public_fraction * entities)`` (halves up) are public. When every row lands
    on one side, one entity (with a single entity: one row) moves to the other.
    """
    if len(entities) < 2:
        raise ValueError("the split needs at least two rows")
    rng = np.random.default_rng(seed)
    codes, count = _codes(entities)
    chosen = np.zeros(count, dtype=bool)
    chosen[rng.permutation(count)[: math.floor(public_fraction * count + 0.5)]] = True
    if count > 1 and not chosen.any():
        chosen[rng.integers(count)] = True
    elif count > 1 and chosen.all():
        chosen[rng.integers(count)] = False
    public = chosen[codes]
    _both_sides(public, rng)
    return public


def _both_sides(public: np.ndarray, rng: np.random.Generator) -> None:
    if not public.any():
        public[rng.integers(len(public))] = True
    elif public.all():
        public[rng.integers(len(public))] = False


def split_column(public: np.ndarray) -> pa.Array:
    """``"public"`` / ``"private"`` per row."""
    return pc.if_else(pa.array(public, pa.bool_()), PUBLIC, PRIVATE)


def split_public_private(labels: pd.Series, *, public_fraction: float, seed: int) -> pd.Series:
    """Return ``"public"`` / ``"private"`` per row, aligned with ``labels``.

    Per class (in sorted order), the class's rows are shuffled with one
    ``numpy.random.Generator(seed)`` and the first ``round(public_fraction * n)`` (halves up)
    are public. When every row lands on one side, one row moves to the other so both splits
    are scored. Needs at least two rows.
    """
    import pandas as pd  # frames only here: every process imports this module

    text = pa.array(labels.astype("string").to_numpy(dtype=object, na_value=None), pa.string())
    public = public_rows(text, public_fraction=public_fraction, seed=seed)
    return pd.Series(np.where(public, PUBLIC, PRIVATE), index=labels.index, dtype="string")
