"""A track board's simultaneous rank sets and tiers (docs/decisions/0069-simultaneous-rank-sets.md).

On a track the unit is the task: a team's score is the mean of its tasks' track values
(``leaderboard.core.track``; a missing task counts 0, as in the mean), and the tasks are
resampled (``leaderboard.core.rank_sets.simultaneous_rank_sets``). A bootstrap over a handful
of tasks cannot hold its level, so below :data:`MIN_TASKS` ranked tasks, or while a task's
entry is on its way (a partial mean), the sets are declined with the reason. Baselines are
not ranked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from challenges.models import Track

from .boards import track_board_cached
from .cache import board_cache
from .core.rank_sets import rank_tiers, simultaneous_rank_sets
from .models import LeaderboardEntry
from .selectors import track_values_of

MIN_TASKS = 10


@dataclass(frozen=True)
class TrackRankSets:
    sets: dict[int, tuple[int, int]] = field(default_factory=dict)  # by team id
    tiers: tuple[tuple[int, ...], ...] = ()  # team ids, best tier first, board order
    reason: str | None = None  # why there are none


def track_rank_sets(*, track: Track, split: str) -> TrackRankSets:
    """The rank sets of ``track``'s board on ``split``, cached with the board."""
    return board_cache.cached(
        board_cache.TRACK,
        track.pk,
        "rank-sets",
        split,
        compute=lambda: _compute(track, split),
    )


def _compute(track: Track, split: str) -> TrackRankSets:
    board = track_board_cached(track=track, split=split)
    tasks = board.ranked_tasks
    rows = [row for row in board.rows if not row.is_baseline]
    if len(rows) < 2:
        return TrackRankSets(reason="fewer than two ranked teams")
    if len(tasks) < MIN_TASKS:
        return TrackRankSets(
            reason=f"{len(tasks)} ranked tasks: a bootstrap over fewer than {MIN_TASKS} tasks "
            "cannot hold its level"
        )
    if any(row.partial for row in rows):
        return TrackRankSets(reason="a ranked task's entry is on its way (a partial mean)")
    entries = list(LeaderboardEntry.objects.filter(task__in=tasks, split=split))
    values = track_values_of(tasks=tasks, split=split, entries=entries)
    matrix = np.array(
        [[(values[t.slug].get(row.team_id) or 0.0) for t in tasks] for row in rows]
    )
    sets = simultaneous_rank_sets(scores=matrix)
    ids = [row.team_id for row in rows]
    tiers = tuple(tuple(ids[i] for i in tier) for tier in rank_tiers(sets))
    return TrackRankSets(sets=dict(zip(ids, sets, strict=True)), tiers=tiers)


def track_entry_rank_set(found: TrackRankSets, team_id: int) -> dict[str, object]:
    """A track entry's ``rank_set`` and ``tier`` (nulls for a baseline or when declined)."""
    rank_set = found.sets.get(team_id)
    tier = next((n for n, t in enumerate(found.tiers, start=1) if team_id in t), None)
    return {"rank_set": None if rank_set is None else list(rank_set), "tier": tier}
