"""The names of the datasets app's Celery tasks, one constant each: the task
(``platform_task(name=...)``) and whoever publishes it (``jobs.lifecycle.publish``,
a job type's ``task_name``) read the same one (docs/decisions/0054-one-name-per-task.md).
Each is declared with its queue, which a publisher needs: only workers import the tasks
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md).

A name stays when its function moves: queued messages, beat entries and claim rows carry it.
"""

from __future__ import annotations

from jobs.celery import declare_task

CHECK_TASK_VERSION = declare_task(name="datasets.tasks.check_task_version", queue="scoring")
SWEEP_VERSION_CHECKS = declare_task(name="datasets.tasks.sweep_version_checks", queue="scoring")
