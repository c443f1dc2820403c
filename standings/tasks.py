"""Celery tasks of the end (thin wrappers over the services)."""

from __future__ import annotations

from jobs.celery import platform_task
from standings import services


@platform_task(
    queue="notifications",
    soft_time_limit=240,
    time_limit=270,
    every=60.0,
    beat="finish-due-challenges",
)
def finish_due_challenges() -> list[str]:
    """Beat: freeze the final standings of every challenge whose end has passed (once each)."""
    return services.challenges_finish_due()
