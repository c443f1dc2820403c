"""The names of the challenges app's Celery tasks, one constant each: the task
(``platform_task(name=...)``) and whoever publishes it (``jobs.lifecycle.publish``,
a job type's ``task_name``) read the same one (docs/decisions/0054-one-name-per-task.md).
Each is declared with its queue, which a publisher needs: only workers import the tasks
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md).

A name stays when its function moves: queued messages, beat entries and claim rows carry it
(so these keep the ``challenge_platform.`` prefix of the app's old label:
docs/decisions/0077-the-challenges-app-label.md).
"""

from __future__ import annotations

from jobs.celery import declare_task

HEARTBEAT = declare_task(name="challenge_platform.tasks.heartbeat", queue="scoring")
PING = declare_task(name="challenge_platform.tasks.ping", queue="scoring")
PHASE_TICK = declare_task(name="challenge_platform.tasks.phase_tick", queue="scoring")
