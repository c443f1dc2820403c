"""A task's bootstrap intervals coalesced into few jobs, on the broker's Redis (which the web
processes and every worker share by construction): at most one running and one pending
job per task, computations spaced, giving way to queued scorings for a bounded time. Not a
cache, but what decides when the board cache's versions move for intervals:
docs/operators/board-cache.md.

Every refresh of a task's board asks for new intervals, but a burst of scorings must not
queue one full bootstrap per scored submission. Four Redis keys per task:

- ``gen``: incremented by every request (the board is "dirty" up to this generation);
- ``pending``: set (NX) by the request that publishes the job; a request finding it set does
  nothing, the queued job will see its generation. The job clears it when it starts, so
  one more may wait while it runs;
- ``running``: a lock (NX, with an expiry) held by the job computing; ``done`` records the
  generation its last computation started from.

Computations of a task start at least ``BOARD_INTERVALS_SPACING_SECONDS`` apart: a request
within that time after the last start queues its job for the end of it (a countdown), and a
run does not compute again at once for requests that came while it ran. In a deadline rush
the intervals then cost one computation per task every so many seconds, not one core
(they took a scoring worker's slot back to back, and scorings queued behind them).

A job that finds the lock held does not compute: the holder compares ``gen`` at its end and
computes again (once; then it queues a new job rather than loop). It re-queues itself, late
(``RETRY_SECONDS``), as the one pending job, so a holder that died (its lock expires) is
followed by a computation all the same. After releasing the lock
it checks ``gen`` once more, so a request racing the release is never lost. A job finding
``done == gen`` has nothing to do. Without Redis (an error talking to it) requests publish
and jobs compute, as before: the broker stays a doorbell and a lost one costs nothing but
intervals until the next refresh.

A job that finds scorings waiting (``busy()``, the caller's test) gives its slot back: it
queues itself again ``DEFER_POLL_SECONDS`` later instead of computing, for at most
``BOARD_INTERVALS_DEFER_SECONDS`` in a row (``deferred``: when the first such job gave
way). Past that it computes however busy the worker is, so the intervals of a board in a
rush lag its scores by at most that long, and are never skipped. In a deadline rush a
computation (about 1.5 s for a 300-team board) took one of the worker's two slots every
spacing, and the scorings arriving meanwhile queued behind the other one.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

import redis
from django.conf import settings

from jobs import lifecycle
from leaderboard import task_names

from .connection import broker_client as client

logger = logging.getLogger(__name__)

PENDING_SECONDS = 600  # a lost message frees the slot after this long
RUNNING_SECONDS = 330  # above the task's hard time limit (300 s)
RERUNS = 1
RETRY_SECONDS = 30.0
DEFER_POLL_SECONDS = 2.0  # how soon a job that gave way to scorings looks again

Publish = Callable[[float | None], bool]  # publish(countdown) -> sent


def _keys(task_id: int) -> tuple[str, str, str, str]:
    base = f"leaderboard:bootstrap:{task_id}"
    return f"{base}:gen", f"{base}:pending", f"{base}:running", f"{base}:done"


def _started_key(task_id: int) -> str:
    return f"leaderboard:bootstrap:{task_id}:started"


def _deferred_key(task_id: int) -> str:
    return f"leaderboard:bootstrap:{task_id}:deferred"


def _spacing() -> float:
    return float(settings.BOARD_INTERVALS_SPACING_SECONDS)


def _wait_left(r: redis.Redis, task_id: int) -> float | None:
    """Seconds until the spacing after the task's last computation started has passed."""
    spacing = _spacing()
    last = r.get(_started_key(task_id)) if spacing > 0 else None
    left = float(last) + spacing - time.time() if last is not None else 0.0
    return left if left > 0 else None


def _publish(task_id: int) -> Publish:
    """What sends the task's job (``task_names.BOOTSTRAP_TASK_LEADERBOARD``), after
    ``countdown`` seconds or at once (None)."""
    return lambda countdown: lifecycle.publish(
        task_name=task_names.BOOTSTRAP_TASK_LEADERBOARD, countdown=countdown, task_id=task_id
    )


def request(*, task_id: int) -> bool:
    """Ask for new intervals of ``task_id``: the job is published when none is queued.
    True when a job was published."""
    publish = _publish(task_id)
    gen, pending, _, _ = _keys(task_id)
    try:
        r = client()
        r.incr(gen)
        if not r.set(pending, 1, nx=True, ex=PENDING_SECONDS):
            return False  # a queued job will start from this generation or a later one
        countdown = _wait_left(r, task_id)
    except redis.RedisError:
        logger.warning("bootstrap coalescing unavailable for task %s; publishing", task_id)
        return bool(publish(None))
    if publish(countdown):
        return True
    r.delete(pending)  # the broker refused: let the next request try again
    return False


def _give_way(r: redis.Redis, task_id: int, busy: Callable[[], bool] | None) -> bool:
    """Whether the job queues itself again rather than compute now: ``busy()`` (scorings are
    waiting), something changed since the last computation, and the jobs of this task have
    not given way for ``BOARD_INTERVALS_DEFER_SECONDS`` already."""
    limit = float(settings.BOARD_INTERVALS_DEFER_SECONDS)
    gen, _, _, done = _keys(task_id)
    if busy is None or limit <= 0:
        return False
    current = r.get(gen)
    if current is not None and current == r.get(done):
        return False  # nothing to compute: the run returns at once
    try:
        waiting = busy()
    except Exception:  # a database error: the computation is not held up by the test
        logger.warning("could not tell whether scorings wait; computing", exc_info=True)
        return False
    if not waiting:
        return False
    now = time.time()
    key = _deferred_key(task_id)
    if r.set(key, now, nx=True, ex=int(limit + PENDING_SECONDS)):
        return True  # the first job giving way: the limit counts from now
    since = r.get(key)
    return since is not None and now - float(since) < limit


def run(
    *,
    task_id: int,
    compute: Callable[[], None],
    busy: Callable[[], bool] | None = None,
) -> int:
    """The job's side: compute unless another run holds the task, nothing changed since the
    last computation, or ``busy()`` (scorings wait) within the deferral limit (then the job
    comes back ``DEFER_POLL_SECONDS`` later); returns how many computations were made."""
    publish = _publish(task_id)
    gen, pending, running, done = _keys(task_id)
    try:
        r = client()
        r.delete(pending)
        if _give_way(r, task_id, busy):
            _request_again(task_id, publish, countdown=DEFER_POLL_SECONDS)
            return 0
        token = uuid.uuid4().hex
        if not r.set(running, token, nx=True, ex=RUNNING_SECONDS):
            # The running one re-checks the generation at its end; come back later in case
            # it died holding the lock.
            _request_again(task_id, publish, countdown=RETRY_SECONDS)
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
            r.set(_started_key(task_id), time.time(), ex=PENDING_SECONDS)
            r.delete(_deferred_key(task_id))  # the next deferral counts afresh
            compute()
            runs += 1
            if current is not None:
                r.set(done, current)
            if r.get(gen) == last or runs > RERUNS or _spacing() > 0:
                break  # with a spacing, the next computation is a job queued for its time
    finally:
        if r.get(running) == token.encode():
            r.delete(running)
    if runs and r.get(gen) != last:
        _request_again(task_id, publish, countdown=_wait_left(r, task_id))
    return runs


def _request_again(task_id: int, publish: Publish, *, countdown: float | None = None) -> None:
    """Queue a job (unless one is pending) for a generation that arrived during (or right
    after) a run, or to come back after a run holding the lock."""
    _, pending, _, _ = _keys(task_id)
    if client().set(pending, 1, nx=True, ex=PENDING_SECONDS) and not publish(countdown):
        client().delete(pending)
