"""What the leaderboard does when a lower layer reports a change (``challenge_platform.hooks``).

Registered in :meth:`leaderboard.apps.LeaderboardConfig.ready`. The service is looked up at
call time, so a test may replace ``leaderboard.services.task_leaderboard_refresh``.
"""

from __future__ import annotations

from datasets.models import Task
from leaderboard import services


def refresh_task_board(task_id: int) -> None:
    """A task's results changed: rebuild its boards."""
    services.task_leaderboard_refresh(task_id=task_id)


def refresh_challenge_boards(challenge_id: int) -> None:
    """A challenge's teams changed: rebuild the boards of all its tasks."""
    tasks = Task.objects.filter(track__challenge_id=challenge_id).values_list("pk", flat=True)
    for task_id in tasks:
        services.task_leaderboard_refresh(task_id=task_id)
