"""The simultaneous rank sets of a task board's entries and the board's tiers
(``leaderboard.core.rank_sets``; docs/decisions/0069-simultaneous-rank-sets.md).

The bootstrap job fills each team entry's ``rank_set_low`` / ``rank_set_high`` from the
board's own paired bootstrap (the draws its score and rank intervals come from: no second
bootstrap). The tiers are read from the stored sets, so a page, the CSV and the API agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from leaderboard.core.bootstrap import BootstrapResult
from leaderboard.core.rank_sets import board_rank_sets, rank_tiers

RANK_SET_FIELDS = ("rank_set_low", "rank_set_high")


def entry_rank_sets_fill(*, entries: Sequence[Any], result: BootstrapResult) -> None:
    """Set ``rank_set_low`` / ``rank_set_high`` on ``entries`` (the bootstrap's entries, in
    its order; baselines get None), from ``result``'s kept samples."""
    if result.samples is None:
        raise ValueError("the board's bootstrap must keep its samples (keep_samples=True)")
    sets = board_rank_sets(
        samples=result.samples,
        points=[e.score for e in result.entries],
        is_baseline=[e.is_baseline for e in result.entries],
        higher_is_better=result.higher_is_better,
        alpha=result.alpha,
    )
    for entry, found in zip(entries, sets, strict=True):
        entry.rank_set_low, entry.rank_set_high = found if found is not None else (None, None)


def rank_set_of(*, row: Any) -> list[int] | None:
    """The row's ``[low, high]``; None for a baseline, a reference or until computed."""
    low, high = getattr(row, "rank_set_low", None), getattr(row, "rank_set_high", None)
    if low is None or high is None:
        return None
    return [low, high]


def board_tiers(*, rows: Sequence[Any]) -> list[list[Any]]:
    """The board's tiers (``rank_sets.rank_tiers``): lists of its rows with a rank set, best
    tier first, each in board order. Empty until the sets are computed."""
    sets = [rank_set_of(row=row) for row in rows]
    if any(s is None for s, row in zip(sets, rows, strict=True) if _ranked(row)):
        return []  # some team entry is waiting for its set: no partial tiers
    found = rank_tiers([None if s is None else (s[0], s[1]) for s in sets])
    return [[rows[i] for i in tier] for tier in found]


def tier_numbers(*, rows: Sequence[Any]) -> dict[int, int]:
    """``{id(row): tier number (1 = best)}`` for the rows in a tier."""
    return {id(row): n for n, tier in enumerate(board_tiers(rows=rows), start=1) for row in tier}


def _ranked(row: Any) -> bool:
    return getattr(row, "rank", None) is not None and hasattr(row, "rank_set_low")
