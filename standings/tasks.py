"""Celery tasks of the end (thin wrappers over the services).

Each task imports its service when it first runs: every process imports this module at
start to register the tasks, and only a worker runs them
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Receivers and tasks import
services at call time").
"""

from __future__ import annotations

from jobs.celery import platform_task
from standings import task_names


@platform_task(
    name=task_names.FINISH_DUE_CHALLENGES,
    queue="notifications",
    soft_time_limit=240,
    time_limit=270,
    every=60.0,
    beat="finish-due-challenges",
)
def finish_due_challenges() -> list[str]:
    """Beat: freeze the final standings of every challenge whose end has passed (once each)."""
    from standings import services

    return services.challenges_finish_due()
