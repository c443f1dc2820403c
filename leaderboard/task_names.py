"""The names of the leaderboard app's Celery tasks, one constant each: the task
(``platform_task(name=...)``) and whoever publishes it (``jobs.lifecycle.publish``,
a job type's ``task_name``) read the same one (docs/decisions/0052-one-name-per-task.md).

A name stays when its function moves: queued messages, beat entries and claim rows carry it.
"""

from __future__ import annotations

BOOTSTRAP_TASK_LEADERBOARD = "leaderboard.tasks.bootstrap_task_leaderboard"
REFRESH_LAGGING_BOARDS = "leaderboard.tasks.refresh_lagging_boards"
TRANSFER_DECOMPOSITION_REFIT = "leaderboard.tasks.transfer_decomposition_refit"
CHECK_CHAMPION = "leaderboard.tasks.check_champion"
CHAMPION_MINUTE = "leaderboard.tasks.champion_minute"
RENDER_BOARDS = "leaderboard.tasks.render_boards"
