"""Bootstrap recomputations coalesced per task: at most one running and one pending.

Every refresh of a task's board asks for new intervals, but a burst of scorings must not
queue one full bootstrap per scored submission. Three Redis keys per task (on the broker's
Redis, which the web processes and every worker share by construction):

- ``gen``: incremented by every request (the board is "dirty" up to this generation);
- ``pending``: set (NX) by the request that publishes the job; a request finding it set does
  nothing, the queued job will see its generation. The job clears it when it starts, so
  one more may wait while it runs;
- ``running``: a lock (NX, with an expiry) held by the job computing; ``done`` records the
  generation its last computation started from.

A job that finds the lock held does not compute: the holder compares ``gen`` at its end and
computes again (once; then it queues a new job rather than loop). It re-queues itself, late
(``RETRY_SECONDS``), as the one pending job, so a holder that died (its lock expires) is
followed by a computation all the same. After releasing the lock
it checks ``gen`` once more, so a request racing the release is never lost. A job finding
``done == gen`` has nothing to do. Without Redis (an error talking to it) requests publish
and jobs compute, as before: the broker stays a doorbell and a lost one costs nothing but
intervals until the next refresh.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from functools import cache

import redis

from challenge_platform.celery import app

logger = logging.getLogger(__name__)

PENDING_SECONDS = 600  # a lost message frees the slot after this long
RUNNING_SECONDS = 330  # above the task's hard time limit (300 s)
RERUNS = 1
RETRY_SECONDS = 30.0

Publish = Callable[[float | None], bool]  # publish(countdown) -> sent


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)


def client() -> redis.Redis:
    return _client(str(app.conf.broker_url))


def _keys(task_id: int) -> tuple[str, str, str, str]:
    base = f"leaderboard:bootstrap:{task_id}"
    return f"{base}:gen", f"{base}:pending", f"{base}:running", f"{base}:done"


def request(task_id: int, publish: Publish) -> bool:
    """Ask for new intervals of ``task_id``; ``publish()`` sends the job when none is queued.
    True when a job was published."""
    gen, pending, _, _ = _keys(task_id)
    try:
        r = client()
        r.incr(gen)
        if not r.set(pending, 1, nx=True, ex=PENDING_SECONDS):
            return False  # a queued job will start from this generation or a later one
    except redis.RedisError:
        logger.warning("bootstrap coalescing unavailable for task %s; publishing", task_id)
        return bool(publish(None))
    if publish(None):
        return True
    r.delete(pending)  # the broker refused: let the next request try again
    return False


def run(task_id: int, compute: Callable[[], None], publish: Publish) -> int:
    """The job's side: compute unless another run holds the task or nothing changed since the
    last computation; returns how many computations were made."""
    gen, pending, running, done = _keys(task_id)
    try:
        r = client()
        r.delete(pending)
        token = uuid.uuid4().hex
        if not r.set(running, token, nx=True, ex=RUNNING_SECONDS):
            # The running one re-checks the generation at its end; come back later in case
            # it died holding the lock.
            request_again(task_id, publish, countdown=RETRY_SECONDS)
            return 0
    except redis.RedisError:
        compute()
        return 1
    runs = 0
    last: bytes | None = None
    try:
        while True:
            current = r.get(gen)
            if runs == 0 and current is not None and current == r.get(done):
                break  # computed from this generation already
            last = current
            compute()
            runs += 1
            if current is not None:
                r.set(done, current)
            if r.get(gen) == last or runs > RERUNS:
                break
    finally:
        if r.get(running) == token.encode():
            r.delete(running)
    if runs and r.get(gen) != last:
        request_again(task_id, publish)
    return runs


def request_again(task_id: int, publish: Publish, *, countdown: float | None = None) -> None:
    """Queue a job (unless one is pending) for a generation that arrived during (or right
    after) a run, or to come back after a run holding the lock."""
    _, pending, _, _ = _keys(task_id)
    if client().set(pending, 1, nx=True, ex=PENDING_SECONDS) and not publish(countdown):
        client().delete(pending)
