"""Who is first on a track's live board, with what probability (issue 26, docs/architecture.md
§12): :mod:`leaderboard.statistics.first` computes it from the board's rows, and this module
keeps the result with the board (``board_cache``: the refresh and bootstrap of any of the
track's tasks bump the track's version, so a kept answer is never older than its board).
"""

from __future__ import annotations

from challenges.models import Track
from leaderboard.boards.read import track_board_cached
from leaderboard.cache import board_cache
from leaderboard.models import LeaderboardEntry
from leaderboard.selectors import ladder_shifts, track_values_of
from leaderboard.statistics.first import EMPTY, FirstBoard, TeamFirst, first_compute
from scoring.models import Submission


def track_first(*, track: Track, split: str) -> dict[int, TeamFirst]:
    """Each ranked team's :class:`TeamFirst` on ``track``'s live board (see
    :func:`track_first_board`)."""
    return track_first_board(track=track, split=split).teams


def track_first_board(*, track: Track, split: str) -> FirstBoard:
    """:func:`first_compute` for ``track``'s live board on ``split``, cached with the board.
    The caller has checked that ``split`` may be shown."""
    challenge = track.challenge
    alpha, margin = challenge.alpha, challenge.equivalence_margin
    return board_cache.cached(
        scope=board_cache.TRACK,
        pk=track.pk,
        parts=(
            "first-board",
            split,
            # the organizer may change the confidence level and the margin at any time
            f"alpha={alpha!r}",
            f"margin={margin!r}",
            "pairs=paired",
        ),  # boards kept before issue 50 held one pooled width for every pair
        compute=lambda: _track_first(track, split, alpha, margin),
    )


def _track_first(track: Track, split: str, alpha: float, margin: float) -> FirstBoard:
    board = track_board_cached(track=track, split=split)
    tasks = board.ranked_tasks
    if not tasks:
        return EMPTY
    entries = list(
        LeaderboardEntry.objects.filter(task__in=tasks, split=split).select_related("submission")
    )
    slugs = {t.pk: t.slug for t in tasks}
    submissions: dict[str, dict[int, Submission]] = {t.slug: {} for t in tasks}
    for entry in entries:
        submissions[slugs[entry.task_id]][entry.team_id] = entry.submission
    values = track_values_of(tasks=tasks, split=split, entries=entries)
    return first_compute(
        tasks=tasks,
        split=split,
        teams=[row.team_id for row in board.rows],
        baselines={row.team_id for row in board.rows if row.is_baseline},
        values=values,
        submissions=submissions,
        alpha=alpha,
        margin=margin,
        shifts=ladder_shifts(tasks=tasks, split=split, entries=entries, values=values),
    )
