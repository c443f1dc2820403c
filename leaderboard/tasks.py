"""Celery tasks of the leaderboard app."""

from __future__ import annotations

from challenge_platform.celery import platform_task

from .services import leaderboard_bootstrap_run


@platform_task(queue="scoring", soft_time_limit=240, time_limit=300)
def bootstrap_task_leaderboard(*, task_id: int) -> None:
    """Recompute the bootstrap intervals of one task (idempotent: results depend on the seed),
    coalesced: a burst of scorings of one task makes at most two computations."""
    leaderboard_bootstrap_run(task_id=task_id)
