"""A job's status changed: a doorbell on Redis, and a bounded wait for it (the API's
long-poll: ``GET submissions/<id>/?wait=N``, ``GET algorithm-runs/<id>/?wait=N``;
docs/decisions/0057-a-status-wait-is-a-held-answer.md).

The row is the truth here too. Every status change the lifecycle makes
(:mod:`jobs.lifecycle`: a claim, a transition, a final save) rings :data:`CHANNEL` once its
transaction commits, naming the row (:func:`row_key`: the model's label and the pk). A
waiting request (:func:`wait_while`) reads its row's state, and while the state is the one
its client already has it sleeps until the doorbell for one of its rows rings or
:data:`POLL_SECONDS` pass (the doorbell is a shortcut: a missed ring, a change made outside
the lifecycle, or Redis away cost at most that long), then reads the row again; it returns
once the state changed or its time is up.

One subscriber per process (:class:`_Listener`, a daemon thread with one Redis connection,
started by the first wait) hands each ring to the requests waiting for that row. A web
thread held by a wait is a thread no other request can use, so at most
``API_WAIT_MAX_WAITERS`` requests of a process wait at once (:func:`waiting_slot`), at most
``API_WAIT_MAX_WAITERS_PER_TEAM`` of them for one team and ``API_WAIT_MAX_WAITERS_PER_PERSON``
for one person; past it a request is answered at once, with ``Retry-After``, as without
``wait``. A stopping process answers every held wait at once (:func:`stop_waiting`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from django.conf import settings
from django.db import transaction

from jobs.redis_rest import call_resting

if TYPE_CHECKING:
    import redis
    from django.db import models

logger = logging.getLogger(__name__)

T = TypeVar("T")

CHANNEL = "jobs:changed"
# A waiting request reads its row at least this often, rung or not.
POLL_SECONDS = 1.0
# ... and this often while this process has no subscription (Redis away, not yet subscribed).
POLL_UNSUBSCRIBED_SECONDS = 0.1
# After the subscription failed, it is tried again this much later.
RECONNECT_SECONDS = 2.0


@dataclass(frozen=True)
class JobState:
    """What a waiting read watches of a job: its status fields (``parts``), whether it is
    final for a client, and the rows whose changes ring for it
    (:func:`row_key`)."""

    parts: tuple
    final: bool
    keys: tuple[str, ...]

    @property
    def tag(self) -> str:
        digest = hashlib.sha256(repr(self.parts).encode()).hexdigest()[:20]
        return f'W/"{digest}"'


def row_key(*, model: type[models.Model] | models.Model, pk: int) -> str:
    """The name a row's rings carry: ``<app label>.<model name>:<pk>``."""
    return f"{model._meta.label_lower}:{pk}"


_publisher: list[redis.Redis] = []
_publisher_lock = threading.Lock()


def _redis() -> redis.Redis:
    import redis

    with _publisher_lock:
        if not _publisher:
            _publisher.append(
                redis.Redis.from_url(
                    settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2
                )
            )
        return _publisher[0]


def ring(*, key: str) -> None:
    """Ring the doorbell of row ``key`` now (a lost ring costs a waiter :data:`POLL_SECONDS`)."""
    import redis

    try:
        call_resting(
            address=settings.CELERY_BROKER_URL, call=lambda: _redis().publish(CHANNEL, key)
        )
    except redis.RedisError:
        logger.debug("no ring for %s: Redis is unavailable", key, exc_info=True)


def ring_after_commit(*, model: type[models.Model], pk: int) -> None:
    """Ring row ``pk`` of ``model`` once the caller's transaction commits (at once outside
    one): a waiter woken before the commit would read the old state."""
    key = row_key(model=model, pk=pk)
    transaction.on_commit(lambda: ring(key=key))


class _Listener:
    """The process's subscription to :data:`CHANNEL`: each ring sets the events of the
    requests waiting for its row."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting: dict[str, set[threading.Event]] = {}
        self.subscribed = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        with self.lock:
            if self.thread is not None and self.thread.is_alive():
                return
            self.thread = threading.Thread(target=self._run, name="jobs-changes", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        import redis

        while True:
            try:
                client = redis.Redis.from_url(
                    settings.CELERY_BROKER_URL, socket_connect_timeout=2, health_check_interval=30
                )
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                self.subscribed.set()
                for message in pubsub.listen():
                    self._wake(message.get("data"))
            except Exception:  # Redis away, a cut link: waiters poll meanwhile
                logger.debug("the job changes subscription failed", exc_info=True)
            self.subscribed.clear()
            self._wake_all()  # what changed meanwhile is not known: every waiter reads again
            time.sleep(RECONNECT_SECONDS)

    def _wake(self, data: object) -> None:
        key = data.decode() if isinstance(data, bytes) else str(data)
        with self.lock:
            for event in self.waiting.get(key, ()):
                event.set()

    def _wake_all(self) -> None:
        with self.lock:
            for events in self.waiting.values():
                for event in events:
                    event.set()

    @contextmanager
    def watching(self, keys: Iterable[str], event: threading.Event) -> Iterator[None]:
        keys = list(keys)
        with self.lock:
            for key in keys:
                self.waiting.setdefault(key, set()).add(event)
        try:
            yield
        finally:
            with self.lock:
                for key in keys:
                    events = self.waiting.get(key)
                    if events is not None:
                        events.discard(event)
                        if not events:
                            del self.waiting[key]


_listener = _Listener()
_slots_lock = threading.Lock()
_slots_taken = 0
_held_by: Counter[str] = Counter()
# Set when this process stops (gunicorn's SIGTERM: runtime/web_worker.py): every held wait
# answers at once, so a stop never waits for a minute-long wait.
_stopping = threading.Event()


def stop_waiting() -> None:
    """This process is stopping: every held wait answers now and none is held anew."""
    _stopping.set()
    _listener._wake_all()


@contextmanager
def waiting_slot(*, holders: Mapping[str, int] | None = None) -> Iterator[bool]:
    """One of this process's ``API_WAIT_MAX_WAITERS`` places for a held request: yields
    True when it got one (given back at the end), False when all are taken.

    ``holders`` names who the wait is for, each with the most places it may hold at once
    in this process (``{"team:3": 2, "user:9": 1}``): a place is given only while each has
    fewer, so one team or person never takes every place (the caps are below the process's)."""
    global _slots_taken
    holders = dict(holders or {})
    with _slots_lock:
        took = (
            not _stopping.is_set()
            and _slots_taken < settings.API_WAIT_MAX_WAITERS
            and all(_held_by[name] < cap for name, cap in holders.items())
        )
        if took:
            _slots_taken += 1
            _held_by.update(holders.keys())
    try:
        yield took
    finally:
        if took:
            with _slots_lock:
                _slots_taken -= 1
                _held_by.subtract(holders.keys())
                for name in holders:
                    if _held_by[name] <= 0:
                        del _held_by[name]


def wait_while(
    *,
    state: Callable[[], tuple[T, Iterable[str]]],
    unchanged: Callable[[T], bool],
    seconds: float,
) -> T:
    """Read ``state()`` (the rows' state and the keys of the rows it was read from) until
    ``unchanged(state)`` is False or ``seconds`` pass, sleeping between reads until one of
    those rows rings (or :data:`POLL_SECONDS`). Returns the last state read. The caller
    holds a :func:`waiting_slot`."""
    _listener.start()
    deadline = time.monotonic() + seconds
    event = threading.Event()
    while True:
        value, keys = state()
        left = deadline - time.monotonic()
        if not unchanged(value) or left <= 0 or _stopping.is_set():
            return value
        with _listener.watching(keys, event):
            # Read once more now that this request listens: a ring between the read above
            # and the watch would otherwise be missed for a whole poll.
            value, _ = state()
            if not unchanged(value):
                return value
            poll = POLL_SECONDS if _listener.subscribed.is_set() else POLL_UNSUBSCRIBED_SECONDS
            event.wait(min(poll, left))
            event.clear()
