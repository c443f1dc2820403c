"""A board changed: what follows once the change commits.

The cached boards are invalidated (:func:`leaderboard.cache.board_cache.bump`: the next read
rebuilds them, never a stale board after a score but for an anonymous reader's grace), then
the boards anonymous readers read are rendered again ahead of them
(:func:`leaderboard.cache.prerender.request_after_bump`). Both wait for the commit: a reader between
the change and the commit would otherwise cache the old board under the new version.
docs/operators/board-cache.md says what bumps a board.
"""

from __future__ import annotations

from django.db import transaction

from . import board_cache, prerender


def bump(*, task_id: int | None, track_id: int | None) -> None:
    """The boards of ``task_id`` (and of its track) changed: invalidated now, and rendered
    ahead where readers read them."""
    boards = board_cache.bump(task_id=task_id, track_id=track_id)
    if boards:
        prerender.request_after_bump(boards)


def bump_after_commit(*, task_id: int | None, track_id: int | None) -> None:
    """:func:`bump` once the caller's transaction commits (at once outside one)."""
    transaction.on_commit(lambda: bump(task_id=task_id, track_id=track_id))
