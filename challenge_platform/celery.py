"""The Celery app, its queues, the beat schedule and the one project task decorator."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "challenge_platform.settings.local")

app = Celery("challenge_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "sweep-stuck-submissions": {
        "task": "scoring.tasks.sweep_submissions",
        "schedule": 60.0,
        "options": {"queue": "scoring", "expires": 55},
    },
    "sweep-baseline-runs": {
        "task": "scoring.baselines.tasks.sweep_baseline_runs",
        "schedule": 60.0,
        "options": {"queue": "scoring", "expires": 55},
    },
    "sweep-algorithm-runs": {
        "task": "algorithms.tasks.sweep_algorithm_runs",
        "schedule": 60.0,
        "options": {"queue": "scoring", "expires": 55},
    },
    "refresh-lagging-boards": {
        "task": "leaderboard.tasks.refresh_lagging_boards",
        "schedule": 60.0,
        "options": {"queue": "scoring", "expires": 55},
    },
    "notifications-tick": {
        "task": "notifications.tasks.notifications_tick",
        "schedule": 60.0,
        "options": {"queue": "notifications", "expires": 55},
    },
    "finish-due-challenges": {
        "task": "standings.tasks.finish_due_challenges",
        "schedule": 60.0,
        "options": {"queue": "notifications", "expires": 55},
    },
    "worker-heartbeat": {
        "task": "challenge_platform.tasks.heartbeat",
        "schedule": 30.0,
        "options": {"queue": "scoring", "expires": 25},
    },
}


# Each project task's queue, filled by ``platform_task``; the router below reads it.
TASK_QUEUES: dict[str, str] = {}


def route_task(name: str, args, kwargs, options, task=None, **kw) -> dict[str, str] | None:
    queue = TASK_QUEUES.get(name)
    return {"queue": queue} if queue else None


app.conf.task_routes = (route_task,)


class TemporaryError(Exception):
    """A failure worth retrying: the database or storage was briefly unavailable."""


def platform_task(
    *,
    queue: str,
    soft_time_limit: int,
    time_limit: int,
    max_retries: int = 3,
    retry_on: tuple[type[BaseException], ...] = (TemporaryError,),
) -> Callable[[Callable[..., Any]], Any]:
    """Register a Celery task with the project's policy (STYLE: Celery).

    Late acknowledgement and reject-on-worker-lost make a killed worker's job come back;
    the task body must therefore be idempotent. Only the named temporary errors retry.
    """
    if soft_time_limit >= time_limit:
        raise ValueError("the soft time limit must be below the hard one")

    def decorator(func: Callable[..., Any]) -> Any:
        name = f"{func.__module__}.{func.__name__}"
        TASK_QUEUES[name] = queue
        return app.task(
            name=name,
            acks_late=True,
            reject_on_worker_lost=True,
            soft_time_limit=soft_time_limit,
            time_limit=time_limit,
            autoretry_for=retry_on,
            max_retries=max_retries,
            retry_backoff=2,
            retry_backoff_max=60,
            retry_jitter=True,
            serializer="json",
        )(func)

    return decorator


# Worker liveness: the worker signals it connects (challenge_platform/workers.py).
from challenge_platform import workers  # noqa: E402, F401
