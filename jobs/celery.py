"""The Celery app, its queues, the beat schedule and the one project task decorator.

The lowest module of the jobs app (docs/architecture.md, "The job lifecycle"): it imports
no other module of the platform, so the lifecycle above it, and every app's ``tasks``
module, can publish and register through it. The project package re-exports the app
(``challenge_platform.celery_app``), so ``celery -A challenge_platform`` finds it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "challenge_platform.settings.local")

app = Celery("challenge_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The beat's schedule: each periodic task declares its period where it is defined
# (``platform_task(every=..., beat=...)``), in the app that owns it, so this lowest layer
# names no task of a higher one. The beat process imports every app's tasks module before
# it reads the schedule (Celery's autodiscovery runs in its loader's ``init_worker``).
app.conf.beat_schedule = {}


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
    every: float | None = None,
    beat: str | None = None,
) -> Callable[[Callable[..., Any]], Any]:
    """Register a Celery task with the project's policy (docs/architecture.md, "Celery").

    Late acknowledgement and reject-on-worker-lost make a killed worker's job come back;
    the task body must therefore be idempotent. Only the named temporary errors retry.
    With ``every`` (seconds) the beat sends it that often, as the schedule entry ``beat``,
    on its queue, expiring a few seconds before the next one is due.
    """
    if soft_time_limit >= time_limit:
        raise ValueError("the soft time limit must be below the hard one")
    if (every is None) != (beat is None):
        raise ValueError("a periodic task needs both its period (every) and its entry (beat)")

    def decorator(func: Callable[..., Any]) -> Any:
        name = f"{func.__module__}.{func.__name__}"
        TASK_QUEUES[name] = queue
        if every is not None and beat is not None:
            app.conf.beat_schedule[beat] = {
                "task": name,
                "schedule": every,
                "options": {"queue": queue, "expires": max(every - 5, 1)},
            }
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
