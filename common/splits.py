"""The splits of a task's test rows: the one home of their names and row masks.

Every score is computed on the public rows, the private rows and all rows
(docs/architecture.md §4); boards rank the public and the private split; pages show a
participant the public rows and, once revealed, all of them.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

SPLITS = ("all", "public", "private")  # the splits a score is computed on
BoardSplit = Literal["public", "private"]  # the splits a board ranks, as a type
BOARD_SPLITS: tuple[BoardSplit, ...] = get_args(BoardSplit)  # ... and as values
SHOWN_ORDER = ("public", "private", "all")  # the order pages and the API list them in


def split_masks(is_public: np.ndarray) -> dict[str, np.ndarray | None]:
    """Row mask of each split of :data:`SPLITS`; None means every row."""
    return {"all": None, "public": is_public, "private": ~is_public}
