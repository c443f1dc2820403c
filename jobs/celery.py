"""The Celery app, its queues, the beat schedule and the one project task decorator.

The lowest module of the jobs app (docs/architecture.md, "The job lifecycle"): it imports
no other module of the platform, so the lifecycle above it, and every app's ``tasks``
module, can publish and register through it. The project package re-exports the app
(:mod:`challenge_platform.celery`), so ``celery -A challenge_platform`` finds it.

The app is made when it is first used (:func:`celery_app`, or the module's ``app``), not
when the module is imported: Celery, kombu and the broker's client cost a cold command
(``manage.py score_file``) about 0.15 CPU-seconds of its start, and a command that
publishes nothing never needs them. A worker makes it first thing (``celery -A``), then
imports every app's tasks module (Celery's autodiscovery), so there every task is Celery's
own from the start. Elsewhere no tasks module is imported: a publisher sends a task by the
name, and to the queue, its app's ``task_names`` declares (:func:`declare_task`); a report
on running jobs imports them first (:func:`task_modules_loaded`); a task a test imports
before the app is made is a proxy that makes the app on its first use, and the app, once
made, registers every task defined so far. Queues, routes, task names and options are the
same either way (docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "The
start without Celery", "Task modules are the workers'").
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "challenge_platform.settings.local")

# Each project task's queue, declared with its name (``declare_task``, in its app's
# ``task_names``): what a publisher needs, without the task's module. The router reads it.
TASK_QUEUES: dict[str, str] = {}
# The tasks declared as follow-ups of a job (``declare_task(..., follow_up=True)``): what a
# score sets off (the champion's check, the intervals, the transfer fit, the mail) goes
# behind every job a user waits for on the same worker (jobs.lifecycle.publish).
FOLLOW_UP_TASKS: set[str] = set()
# Each project task's hard time limit in seconds (its worker kills it then), filled by
# ``platform_task`` as the task's module is imported: the bound of a running job
# (jobs.health, which loads the task modules first: ``task_modules_loaded``).
TASK_TIME_LIMITS: dict[str, float] = {}

# The beat's schedule: each periodic task declares its period where it is defined
# (``platform_task(every=..., beat=...)``), in the app that owns it, so this lowest layer
# names no task of a higher one. The beat process imports every app's tasks module before
# it reads the schedule (Celery's autodiscovery runs in its loader's ``init_worker``).
BEAT_SCHEDULE: dict[str, dict[str, Any]] = {}

# Whether every app's tasks module is imported here (a worker's and the beat's start do it;
# elsewhere ``task_modules_loaded``).
_tasks_imported = threading.Event()

_made: list[Celery] = []
_making = threading.RLock()  # a callback may define a task: the same thread again
# Tasks defined before the app was made (their options), and what waits for the app.
_pending: list[tuple[Callable[..., Any], dict[str, Any]]] = []
_when_made: list[Callable[[Celery], None]] = []


def celery_app() -> Celery:
    """The project's Celery app, made on the first call (every later call returns it)."""
    if _made:
        return _made[0]
    with _making:
        if not _made:
            _made.append(_make())
            for callback in _when_made:
                callback(_made[0])
    return _made[0]


def app_made() -> bool:
    """Whether the app is made (a worker's, or a process that published or used a task)."""
    return bool(_made)


def when_app_made(*, callback: Callable[[Celery], None]) -> None:
    """Run ``callback(app)`` once the app is made: now if it is. Receivers of Celery's
    worker signals connect here (a worker makes its app before Django's start)."""
    with _making:
        if not _made:
            _when_made.append(callback)
            return
    callback(_made[0])


def declare_task(*, name: str, queue: str, follow_up: bool = False) -> str:
    """Declare the Celery task ``name`` on ``queue`` and return ``name``: each app's
    ``task_names`` module declares its tasks so
    (``SCORE = declare_task(name="scoring.tasks.score", queue="scoring")``), so that whoever
    holds a task's name, to publish it (:func:`jobs.lifecycle.publish`) or as a job type's
    ``task_name``, knows its queue without importing the task's module: only workers, the
    beat and the reports on running jobs import those
    (docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md).

    ``follow_up``: the task is work a job sets off that nobody waits on (a champion's check
    after a score, the mail that says so): its messages go at the broker's follow-up
    priority, so a worker takes every waiting score before it
    (docs/decisions/0062-a-score-goes-ahead-of-its-follow-ups.md)."""
    known = TASK_QUEUES.setdefault(name, queue)
    if known != queue:
        raise ValueError(f"the task {name!r} is declared on two queues: {known!r}, {queue!r}")
    if follow_up:
        FOLLOW_UP_TASKS.add(name)
    return name


def task_modules_loaded() -> None:
    """Import every app's tasks module once, as a worker's start does (Celery's autodiscovery
    of the installed apps), so that what only a task's definition says (its time limits, its
    beat entry) is known here: what reports on running jobs outside a worker (jobs.health,
    operations.settled) calls it first. Makes the Celery app."""
    if _tasks_imported.is_set():
        return
    with _making:
        celery_app().autodiscover_tasks(force=True)
        _tasks_imported.set()


def _make() -> Celery:
    from celery import Celery
    from django.conf import settings
    from kombu import Queue

    app = Celery("challenge_platform")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.task_queues = tuple(Queue(name) for name in settings.TASK_QUEUE_NAMES)
    app.autodiscover_tasks()
    app.conf.beat_schedule = BEAT_SCHEDULE
    app.conf.task_routes = (route_task,)
    for func, options in _pending:
        app.task(**options)(func)
    _pending.clear()
    return app


def __getattr__(name: str) -> Any:
    if name == "app":  # ``from jobs.celery import app``: made here
        return celery_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def route_task(name: str, args, kwargs, options, task=None, **kw) -> dict[str, str] | None:
    queue = TASK_QUEUES.get(name)
    return {"queue": queue} if queue else None


class TemporaryError(Exception):
    """A failure worth retrying: the database or storage was briefly unavailable."""


def _database_lost(exc: BaseException) -> bool:
    """Whether ``exc`` (a task's TemporaryError) came from the database being unreachable."""
    from django.db import InterfaceError, OperationalError

    return isinstance(exc.__cause__, OperationalError | InterfaceError)


def wait_for_database(*, seconds: float, every: float = 0.25) -> bool:
    """Wait until the database accepts a connection again, at most ``seconds``; True when it
    does. Broken connections of this thread are closed first (a usable one is kept). A try
    every quarter second: a restarted database answers within a second, and a job that
    waits for it should not wait a whole second more (a try that cannot reach it waits its
    connect timeout anyway)."""
    from django.db import DatabaseError, connections

    deadline = time.monotonic() + seconds
    while True:
        for conn in connections.all(initialized_only=True):
            if conn.connection is not None and not conn.is_usable():
                conn.close()
        try:
            connections["default"].ensure_connection()
            return True
        except DatabaseError:
            pass
        if time.monotonic() + every > deadline:
            return False
        time.sleep(every)


def _riding_out_database_outages(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``func``; when it fails because the database is unreachable (a restart, a cut
    link), wait in the task for the database (``JOB_DATABASE_WAIT_SECONDS``) and run it
    again, instead of retrying through the broker at once. The pool process stays busy
    meanwhile, so a worker that cannot reach the database takes no more messages (with late
    acknowledgement it reserves only what its processes run): it does not burn the queue's
    messages through its retries while another worker could do them, and what it holds ends
    within a second of the database's return. Task bodies are idempotent (the claim), so
    running one again is what a retry does. Past the wait, the error goes to Celery's
    retry."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        from django.conf import settings

        waited = False
        while True:
            try:
                return func(*args, **kwargs)
            except TemporaryError as exc:
                if waited or not _database_lost(exc):
                    raise
                waited = True
                seconds = float(getattr(settings, "JOB_DATABASE_WAIT_SECONDS", 60))
                logging.getLogger(__name__).warning(
                    "%s: %s; waiting up to %.0f s for the database", func.__name__, exc, seconds
                )
                if not wait_for_database(seconds=seconds):
                    raise

    return run


def platform_task(
    *,
    name: str,
    soft_time_limit: int,
    time_limit: int,
    max_retries: int = 3,
    retry_on: tuple[type[BaseException], ...] = (TemporaryError,),
    every: float | None = None,
    beat: str | None = None,
) -> Callable[[Callable[..., Any]], Any]:
    """Register a Celery task with the project's policy (docs/architecture.md, House style: Celery).

    Late acknowledgement and reject-on-worker-lost make a killed worker's job come back;
    the task body must therefore be idempotent. Only the named temporary errors retry.
    ``name`` is the task's constant in its app's ``task_names`` module, which its publishers
    read too (docs/decisions/0054-one-name-per-task.md); its queue is declared there with it
    (:func:`declare_task`).
    With ``every`` (seconds) the beat sends it that often, as the schedule entry ``beat``,
    on its queue, expiring a few seconds before the next one is due.
    """
    if soft_time_limit >= time_limit:
        raise ValueError("the soft time limit must be below the hard one")
    if (every is None) != (beat is None):
        raise ValueError("a periodic task needs both its period (every) and its entry (beat)")

    if name not in TASK_QUEUES:
        raise ValueError(f"the task {name!r} has no queue: declare it in its app's task_names")
    queue = TASK_QUEUES[name]

    def decorator(func: Callable[..., Any]) -> Any:
        if name in TASK_TIME_LIMITS:
            raise ValueError(f"two tasks are named {name!r}")
        TASK_TIME_LIMITS[name] = float(time_limit)
        if every is not None and beat is not None:
            BEAT_SCHEDULE[beat] = {
                "task": name,
                "schedule": every,
                "options": {"queue": queue, "expires": max(every - 5, 1)},
            }
        options = dict(
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
        )
        body = _riding_out_database_outages(func)
        with _making:
            if not _made:
                from celery.local import PromiseProxy  # no third-party import of its own

                _pending.append((body, options))
                return PromiseProxy(_task_named, (name,), __doc__=func.__doc__)
        return _made[0].task(**options)(body)

    return decorator


def _task_named(name: str) -> Any:
    return celery_app().tasks[name]
