"""The names of the challenge_platform app's Celery tasks, one constant each: the task
(``platform_task(name=...)``) and whoever publishes it (``jobs.lifecycle.publish``,
a job type's ``task_name``) read the same one (docs/decisions/0052-one-name-per-task.md).

A name stays when its function moves: queued messages, beat entries and claim rows carry it.
"""

from __future__ import annotations

HEARTBEAT = "challenge_platform.tasks.heartbeat"
PING = "challenge_platform.tasks.ping"
