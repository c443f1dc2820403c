"""The names of the leaderboard app's Celery tasks, one constant each: the task
(``platform_task(name=...)``) and whoever publishes it (``jobs.lifecycle.publish``,
a job type's ``task_name``) read the same one (docs/decisions/0054-one-name-per-task.md).
Each is declared with its queue, which a publisher needs: only workers import the tasks
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md).

A name stays when its function moves: queued messages, beat entries and claim rows carry it.
"""

from __future__ import annotations

from jobs.celery import declare_task

BOOTSTRAP_TASK_LEADERBOARD = declare_task(
    name="leaderboard.tasks.bootstrap_task_leaderboard", queue="scoring", follow_up=True
)
REFRESH_LAGGING_BOARDS = declare_task(
    name="leaderboard.tasks.refresh_lagging_boards", queue="scoring"
)
TRANSFER_DECOMPOSITION_REFIT = declare_task(
    name="leaderboard.tasks.transfer_decomposition_refit", queue="scoring", follow_up=True
)
CHECK_CHAMPION = declare_task(
    name="leaderboard.tasks.check_champion", queue="scoring", follow_up=True
)
CHAMPION_MINUTE = declare_task(name="leaderboard.tasks.champion_minute", queue="scoring")
RENDER_BOARDS = declare_task(name="leaderboard.tasks.render_boards", queue="board_renders")
