"""Celery tasks of the end (thin wrappers over the services).

Only workers, the beat and the reports on running jobs import this module (Celery's
autodiscovery): a publisher sends a task by the name, and to the queue, its app's
``task_names`` declares, so this module imports the services it calls at its top
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Task modules are the
workers'").
"""

from __future__ import annotations

from jobs.celery import platform_task
from standings import services, task_names


@platform_task(
    name=task_names.FINISH_DUE_CHALLENGES,
    soft_time_limit=240,
    time_limit=270,
    every=60.0,
    beat="finish-due-challenges",
)
def finish_due_challenges() -> list[str]:
    """Beat: freeze the final standings of every challenge whose end has passed (once each)."""
    return services.challenges_finish_due()
