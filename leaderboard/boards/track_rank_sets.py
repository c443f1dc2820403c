"""A track board's simultaneous rank sets and tiers (docs/decisions/0069-simultaneous-rank-sets.md).

On a track the unit is the task: a team's score is the mean of its tasks' track values
(``leaderboard.core.track``; a missing task counts 0, as in the mean), and the tasks are
resampled (``leaderboard.core.rank_sets.team_rank_sets``). A bootstrap over a handful of
tasks cannot hold its level, so below ``MIN_TRACK_TASKS`` ranked tasks, or while a task's
entry is on its way (a partial mean), the sets are declined with the reason. Baselines are
not ranked.
"""

from __future__ import annotations

from challenges.models import Track
from leaderboard.boards.read import track_board_cached
from leaderboard.cache import board_cache
from leaderboard.core.rank_sets import TeamRankSets, team_rank_sets
from leaderboard.models import LeaderboardEntry
from leaderboard.selectors import track_values_of


def track_rank_sets(*, track: Track, split: str) -> TeamRankSets:
    """The rank sets of ``track``'s board on ``split``, cached with the board."""
    return board_cache.cached(
        scope=board_cache.TRACK,
        pk=track.pk,
        parts=(
            "rank-sets",
            split,
        ),
        compute=lambda: _compute(track, split),
    )


def _compute(track: Track, split: str) -> TeamRankSets:
    board = track_board_cached(track=track, split=split)
    tasks = board.ranked_tasks
    rows = [row for row in board.rows if not row.is_baseline]
    if any(row.partial for row in rows):
        return TeamRankSets(
            sets={}, tiers=(), reason="a ranked task's entry is on its way (a partial mean)"
        )
    entries = list(LeaderboardEntry.objects.filter(task__in=tasks, split=split))
    return team_rank_sets(
        values=track_values_of(tasks=tasks, split=split, entries=entries),
        teams=[row.team_id for row in rows],
        tasks=[t.slug for t in tasks],
    )
