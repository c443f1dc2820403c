"""What a reader sees of a track board's comparisons when a task of the track has a ladder
board (docs/organizers/disclosure.md and
docs/decisions/0068-a-ladder-that-an-adaptive-attacker-cannot-climb.md).

P(first), the rank intervals, the groups and the pairwise verdicts resample each task's
test rows (``leaderboard.statistics.first``): on a laddered task's public split those are the exact
public rows. Moved to the shown scores they still spread as the exact rows do (a bootstrap's
spread of an accuracy is p(1 - p) / n: the exact p), so they follow the rule of every exact
figure (``scoring.selectors.public_scores_shown``): a reader for whom any of the track's
tasks hides its exact figures gets none of them on the public split, with the reason in
``group_reason``; organizers, and everyone after the reveal, get them as before.

The track's rank sets and tiers stay: they resample the tasks' track values, which on a
laddered task are the shown scores the board already prints
(``leaderboard.boards.track_rank_sets``), so they say nothing the board does not.
"""

from __future__ import annotations

from challenges.models import Track
from common import board_modes
from datasets.models import Task
from leaderboard.boards.ladder import task_board_mode
from leaderboard.boards.shown import board_hides
from leaderboard.boards.track_first import track_first_board
from leaderboard.models import Split
from leaderboard.statistics.first import FirstBoard
from scoring.selectors import User

TRACK_WITHHELD = (
    "withheld until the private split is revealed: a task of this track has a ladder board, "
    "and P(first), rank intervals, groups and pairwise verdicts resample its exact public "
    "rows, so they would give its entries' exact public scores away"
)
WITHHELD_BOARD = FirstBoard(teams={}, group_reason=TRACK_WITHHELD)


def track_hides(*, track: Track, split: str, user: User) -> bool:
    """Whether ``user`` reads ``track``'s board on ``split`` without the figures resampled
    from its tasks' rows (a laddered task hides its exact figures from ``user``)."""
    if split != Split.PUBLIC:
        return False
    tasks = Task.objects.filter(track=track).select_related("track__challenge")
    return any(board_hides(task=task, split=split, user=user) for task in tasks)


def track_first_for(*, track: Track, split: str, user: User) -> FirstBoard:
    """``track``'s :class:`FirstBoard` on ``split`` as ``user`` may see it."""
    if track_hides(track=track, split=split, user=user):
        return WITHHELD_BOARD
    return track_first_board(track=track, split=split)


def track_view(*, track: Track, split: str, user: User) -> str:
    """The key of the track board's JSON as ``user`` reads it: ``split``, or
    ``"<split>:exact"`` on a public split with a laddered task whose figures ``user`` may
    see (an organizer's payload is not a participant's)."""
    if split != Split.PUBLIC:
        return split
    tasks = list(Task.objects.filter(track=track).select_related("track__challenge"))
    laddered = [t for t in tasks if task_board_mode(task=t) != board_modes.PLAIN]
    if laddered and not any(board_hides(task=t, split=split, user=user) for t in laddered):
        return f"{split}:exact"
    return split
