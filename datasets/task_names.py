"""The names of the datasets app's Celery tasks, one constant each: the task
(``platform_task(name=...)``) and whoever publishes it (``jobs.lifecycle.publish``,
a job type's ``task_name``) read the same one (docs/decisions/0052-one-name-per-task.md).

A name stays when its function moves: queued messages, beat entries and claim rows carry it.
"""

from __future__ import annotations

CHECK_TASK_VERSION = "datasets.tasks.check_task_version"
SWEEP_VERSION_CHECKS = "datasets.tasks.sweep_version_checks"
