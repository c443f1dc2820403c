"""Work of one task coalesced per task, on the broker's Redis (which the web processes and
every worker share by construction): bootstrap recomputations and board refreshes.

**Bootstrap recomputations**: at most one running and one pending. Every refresh of a
task's board asks for new intervals, but a burst of scorings must not queue one full
bootstrap per scored submission. Four Redis keys per task:

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

**Board refreshes** (``leaderboard.services.task_leaderboard_refresh``): the refreshes of a
task take turns (a database lock); one that finds the turn taken does not wait, it counts a
request here once its change is committed, and the refresh holding the turn runs again after
its own commit while the count moved during its run. Two hash fields per task:
``requested`` (the count) and ``refreshed`` (the count read by the last refresh that found
nothing more to do). A task whose fields differ for long had a holder die between its commit
and its check; the beat's :func:`refreshes_behind` finds it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings

from jobs.celery import app

logger = logging.getLogger(__name__)

PENDING_SECONDS = 600  # a lost message frees the slot after this long
RUNNING_SECONDS = 330  # above the task's hard time limit (300 s)
RERUNS = 1
RETRY_SECONDS = 30.0
DEFER_POLL_SECONDS = 2.0  # how soon a job that gave way to scorings looks again

Publish = Callable[[float | None], bool]  # publish(countdown) -> sent


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)


def client() -> redis.Redis:
    return _client(str(app.conf.broker_url))


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


def request(task_id: int, publish: Publish) -> bool:
    """Ask for new intervals of ``task_id``; ``publish()`` sends the job when none is queued.
    True when a job was published."""
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
    task_id: int,
    compute: Callable[[], None],
    publish: Publish,
    *,
    busy: Callable[[], bool] | None = None,
) -> int:
    """The job's side: compute unless another run holds the task, nothing changed since the
    last computation, or ``busy()`` (scorings wait) within the deferral limit (then the job
    comes back ``DEFER_POLL_SECONDS`` later); returns how many computations were made."""
    gen, pending, running, done = _keys(task_id)
    try:
        r = client()
        r.delete(pending)
        if _give_way(r, task_id, busy):
            request_again(task_id, publish, countdown=DEFER_POLL_SECONDS)
            return 0
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
        request_again(task_id, publish, countdown=_wait_left(r, task_id))
    return runs


def request_again(task_id: int, publish: Publish, *, countdown: float | None = None) -> None:
    """Queue a job (unless one is pending) for a generation that arrived during (or right
    after) a run, or to come back after a run holding the lock."""
    _, pending, _, _ = _keys(task_id)
    if client().set(pending, 1, nx=True, ex=PENDING_SECONDS) and not publish(countdown):
        client().delete(pending)


# --- board refreshes -----------------------------------------------------------------------

REQUESTED = "leaderboard:refresh:requested"
REFRESHED = "leaderboard:refresh:refreshed"


ANY_TEAM = "*"  # a request whose change may concern any team (the whole board is rebuilt)


def _teams_key(task_id: int) -> str:
    return f"leaderboard:refresh:{task_id}:teams"


@dataclass(frozen=True)
class Turn:
    """What the refresh holding a task's turn read once it held it: the request count, and
    the requests no rebuild has covered yet, per team (``ANY_TEAM``: any)."""

    seen: int
    pending: dict[str, int]

    def teams(self, team_id: int | None) -> set[int] | None:
        """The teams a rebuild must recompute for ``team_id``'s change and the pending ones;
        None: every team."""
        if ANY_TEAM in self.pending:
            return None
        teams = {int(k) for k in self.pending}
        if team_id is not None:
            teams.add(team_id)
        return teams


def refresh_requested(task_id: int, team_id: int | None) -> bool:
    """Count a refresh of ``task_id`` that found the turn taken (after its change, of
    ``team_id``'s submissions or of anything, committed); False when Redis cannot be reached
    (the caller then waits for its turn)."""
    try:
        pipe = client().pipeline(transaction=True)
        pipe.hincrby(_teams_key(task_id), ANY_TEAM if team_id is None else str(team_id), 1)
        pipe.hincrby(REQUESTED, str(task_id), 1)
        pipe.execute()
    except redis.RedisError:
        logger.warning("board refresh coalescing unavailable for task %s", task_id)
        return False
    return True


def refresh_generation(task_id: int) -> Turn | None:
    """What the refresh holding the turn reads before it reads the board (:class:`Turn`);
    None when Redis cannot be reached (refreshes then wait for their turn instead of passing
    it on)."""
    try:
        requested, teams = (
            client()
            .pipeline(transaction=True)
            .hget(REQUESTED, str(task_id))
            .hgetall(_teams_key(task_id))
            .execute()
        )
    except redis.RedisError:
        return None
    pending = {k.decode(): int(v) for k, v in teams.items() if int(v) > 0}
    return Turn(seen=int(requested or 0), pending=pending)


def refresh_covered(task_id: int, pending: dict[str, int]) -> None:
    """After the commit of a rebuild that included the ``pending`` requests: they are done
    (a request counted meanwhile for the same team stays pending)."""
    if not pending:
        return
    try:
        pipe = client().pipeline(transaction=True)
        for team, n in pending.items():
            pipe.hincrby(_teams_key(task_id), team, -n)
        pipe.execute()
    except redis.RedisError:
        logger.warning("board refresh requests of task %s stay pending", task_id)


def refresh_settled(task_id: int, seen: int) -> bool:
    """After a refresh that read ``seen`` committed: True when no request came meanwhile
    (and it is recorded as refreshed), False when the refresh must run again."""
    try:
        r = client()
        if int(r.hget(REQUESTED, str(task_id)) or 0) != seen:
            return False
        r.hset(REFRESHED, str(task_id), seen)
    except redis.RedisError:
        logger.warning("board refresh of task %s not recorded; the beat checks it", task_id)
    return True


def refreshes_behind() -> list[int]:
    """Tasks with a request no refresh has read (a holder died between its commit and its
    check, or Redis failed then)."""
    try:
        r = client()
        requested, refreshed = r.hgetall(REQUESTED), r.hgetall(REFRESHED)
    except redis.RedisError:
        return []
    return sorted(int(k) for k, v in requested.items() if refreshed.get(k) != v)
