"""Board refreshes take turns without waiting, on the broker's Redis (which the web processes
and every worker share by construction): no committed change is left off its board. Not a
cache, but what decides when a board's entries (and so the board cache's versions) change:
docs/operators/board-cache.md.

The refreshes of a task take turns (a database lock,
``leaderboard.services.task_leaderboard_refresh``); one that finds the turn taken does not
wait, it counts a request here once its change is committed, and the refresh holding the
turn runs again after its own commit while the count moved during its run. Two hash fields
per task: ``requested`` (the count) and ``refreshed`` (the count read by the last refresh
that found nothing more to do), and a per-team count of the requests no rebuild has covered
yet. A task whose fields differ for long had a holder die between its commit and its
check; the beat's :func:`refreshes_behind` finds it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from .interval_jobs import client

logger = logging.getLogger(__name__)

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
