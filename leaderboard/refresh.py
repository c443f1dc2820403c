"""A board's refresh after a score, in one place, in the order it happens
(docs/decisions/0076-one-home-for-the-refresh.md; docs/operators/board-cache.md says what each
cache layer holds):

1. **Turns**, in the scoring's transaction: the refreshes of a task take turns
   (:func:`_take_turn`, a PostgreSQL advisory lock); one that finds the turn taken does not
   wait but counts a request on the broker's Redis once its change commits, and the holder
   runs again for it after its own commit (:func:`_refresh_again`).
2. **The stored board** (:func:`leaderboard.stored_board.rebuild`): the entries of the
   changed teams computed and written where they changed; listeners hear of it in the
   transaction (``challenges.hooks.BoardRefreshed``).
3. Once the transaction commits (:func:`_board_changed`): the board's new **intervals** are
   asked for (``leaderboard.cache.interval_jobs``), then **the cache**: its versions are
   bumped (``leaderboard.cache.board_cache.bump``; the next read rebuilds), then **the
   prerender**: the boards anonymous readers read are rendered again ahead of them, by the
   renders worker (``leaderboard.cache.prerender.request_after_bump``).

Every other change of a board's stored values (new intervals, a hidden team, a board's mode)
goes through steps 3's cache and prerender too: :func:`boards_changed_after_commit`.

Turn-taking in detail. Two workers finishing scorings at once otherwise both replaced the
entries, and the second insert broke the one-entry-per-team constraint. Called inside a
transaction (a scoring's), the turn is held until it commits, so a refresh that waited for it
made every scoring of the task wait for the one before (about 2.5 scorings a second in the
deadline rush). So a refresh that finds the turn taken counts a request for its team, and the
holder runs again after its commit, for the pending teams, when the count moved while it ran
(it read the count before the board). A board shows a score at the latest one refresh after
its commit; a burst of scorings costs one refresh per turn, not one each. Without Redis
refreshes wait for their turn.

The counts are two hash fields per task, ``requested`` and ``refreshed`` (the count read by
the last refresh that found nothing more to do), and a per-team count of the requests no
rebuild has covered yet. A task whose fields differ for long had a holder die between its
commit and its check; the beat's :func:`boards_behind_refresh` finds it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import redis
from django.db import connection, transaction

from challenges import hooks

from .cache import board_cache, interval_jobs, prerender
from .cache.connection import broker_client
from .stored_board import BoardChanged, rebuild

logger = logging.getLogger(__name__)

REQUESTED = "leaderboard:refresh:requested"
REFRESHED = "leaderboard:refresh:refreshed"
ANY_TEAM = "*"  # a request whose change may concern any team (the whole board is rebuilt)
_SKIPPED = object()
# The advisory lock's first key: the board refreshes' namespace (the second is the task's id).
_REFRESH_LOCK = 0x4C42  # "LB"


def task_leaderboard_refresh(
    *, task_id: int, team_id: int | None = None, bootstrap: bool = True
) -> None:
    """Refresh the board of one task (the module's steps 1 to 3). ``team_id``: only that
    team's submissions changed (a scoring): its entries (and those of teams whose refresh is
    pending) are computed from their submissions and the other teams keep theirs, ranked
    again around them. ``bootstrap``: ask for new intervals after the commit."""
    # No savepoint of its own inside a caller's transaction (a scoring's, whose hook already
    # runs in one): two fewer round trips under the turn.
    with transaction.atomic(savepoint=False):
        turn = _take_turn(task_id, wait=False)
        if turn is _SKIPPED:
            transaction.on_commit(
                lambda: _refresh_again(task_id, bootstrap, requested_by=team_id), robust=True
            )
            return
        _rebuild(task_id, bootstrap=bootstrap, teams=_teams(turn, team_id))
    if turn is not None:
        transaction.on_commit(lambda: _refresh_again(task_id, bootstrap, turn=turn), robust=True)


def boards_behind_refresh() -> int:
    """Refresh the boards with a request no refresh has read (:func:`refreshes_behind`);
    returns how many."""
    behind = refreshes_behind()
    for task_id in behind:
        logger.info("the board of task %s is behind its requests; refreshing it", task_id)
        task_leaderboard_refresh(task_id=task_id)
    return len(behind)


def boards_changed_after_commit(*, task_id: int | None, track_id: int | None) -> None:
    """The stored values of the boards of ``task_id`` (and of its track) changed: once the
    caller's transaction commits (at once outside one), the cache and the prerender steps.
    Both wait for the commit: a reader between the change and the commit would otherwise
    cache the old board under the new version."""
    transaction.on_commit(lambda: _cache_and_prerender(task_id, track_id))


# --- 1. turns ----------------------------------------------------------------------------


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


def _teams(turn: Turn | None, team_id: int | None) -> set[int] | None:
    """The teams a rebuild recomputes: ``team_id``'s change and the pending requests (None:
    all). Without Redis, a refresh that found the turn taken rebuilds after its commit."""
    if team_id is None:
        return None
    return {team_id} if turn is None else turn.teams(team_id)


def _take_turn(task_id: int, *, wait: bool) -> Any:
    """Take the task's refresh turn until the transaction ends (a PostgreSQL advisory lock;
    SQLite runs one writer at a time anyway), waiting for it or not: ``_SKIPPED`` when it is
    taken, else the :class:`Turn` read once it is held (None when Redis cannot be reached:
    there is then nobody to pass a turn on to, and a skipped refresh waits after its
    commit)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if wait:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_REFRESH_LOCK, task_id])
            else:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_REFRESH_LOCK, task_id])
                if not cursor.fetchone()[0]:
                    return _SKIPPED
    return None if wait else refresh_generation(task_id=task_id)


def _refresh_again(
    task_id: int,
    bootstrap: bool,
    *,
    turn: Turn | None = None,
    requested_by: int | None = None,
) -> None:
    """After a commit. A refresh that found the turn taken (``requested_by``: its team, or
    None for any) counts its request; the holder marks the requests its rebuild covered and
    rebuilds again (the pending teams) while requests came during the last one. A turn found
    taken passes the work on to its holder."""
    if turn is None and not refresh_requested(task_id=task_id, team_id=requested_by):
        with transaction.atomic():  # no Redis: wait for the turn
            _take_turn(task_id, wait=True)
            _rebuild(task_id, bootstrap=bootstrap)
        return
    while True:
        if turn is not None:
            _covered(task_id, turn.pending)
            if _settled(task_id, turn.seen):
                return
        with transaction.atomic():
            turn = _take_turn(task_id, wait=False)
            if turn is _SKIPPED:
                return  # the holder read the count after ours, or checks it after its commit
            _rebuild(task_id, bootstrap=bootstrap, teams=None if turn is None else turn.teams(None))
        if turn is None:
            return


def _teams_key(task_id: int) -> str:
    return f"leaderboard:refresh:{task_id}:teams"


def refresh_requested(*, task_id: int, team_id: int | None) -> bool:
    """Count a refresh of ``task_id`` that found the turn taken (after its change, of
    ``team_id``'s submissions or of anything, committed); False when Redis cannot be reached
    (the caller then waits for its turn)."""
    try:
        pipe = broker_client().pipeline(transaction=True)
        pipe.hincrby(_teams_key(task_id), ANY_TEAM if team_id is None else str(team_id), 1)
        pipe.hincrby(REQUESTED, str(task_id), 1)
        pipe.execute()
    except redis.RedisError:
        logger.warning("board refresh coalescing unavailable for task %s", task_id)
        return False
    return True


def refresh_generation(*, task_id: int) -> Turn | None:
    """What the refresh holding the turn reads before it reads the board (:class:`Turn`);
    None when Redis cannot be reached (refreshes then wait for their turn instead of passing
    it on)."""
    try:
        requested, teams = (
            broker_client()
            .pipeline(transaction=True)
            .hget(REQUESTED, str(task_id))
            .hgetall(_teams_key(task_id))
            .execute()
        )
    except redis.RedisError:
        return None
    pending = {k.decode(): int(v) for k, v in teams.items() if int(v) > 0}
    return Turn(seen=int(requested or 0), pending=pending)


def _covered(task_id: int, pending: dict[str, int]) -> None:
    """After the commit of a rebuild that included the ``pending`` requests: they are done
    (a request counted meanwhile for the same team stays pending)."""
    if not pending:
        return
    try:
        pipe = broker_client().pipeline(transaction=True)
        for team, n in pending.items():
            pipe.hincrby(_teams_key(task_id), team, -n)
        pipe.execute()
    except redis.RedisError:
        logger.warning("board refresh requests of task %s stay pending", task_id)


def _settled(task_id: int, seen: int) -> bool:
    """After a refresh that read ``seen`` committed: True when no request came meanwhile
    (and it is recorded as refreshed), False when the refresh must run again."""
    try:
        r = broker_client()
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
        r = broker_client()
        requested, refreshed = r.hgetall(REQUESTED), r.hgetall(REFRESHED)
    except redis.RedisError:
        return []
    return sorted(int(k) for k, v in requested.items() if refreshed.get(k) != v)


# --- 2. the stored board -----------------------------------------------------------------


def _rebuild(task_id: int, *, bootstrap: bool, teams: set[int] | None = None) -> None:
    """The stored board's step, in the turn's transaction; when it wrote a change, its
    listeners hear of it now and step 3 follows the commit."""
    changed = rebuild(task_id=task_id, teams=teams)
    if changed is None:
        return  # nothing changed (a refresh run again for a change already shown)
    transaction.on_commit(lambda: _board_changed(changed, bootstrap=bootstrap))
    hooks.emit(event=hooks.BoardRefreshed(task_id=task_id))


# --- 3. after the commit: the intervals, the cache, the prerender ------------------------


def _board_changed(changed: BoardChanged, *, bootstrap: bool) -> None:
    if bootstrap:
        _intervals_requested(changed.task_id)
    _cache_and_prerender(changed.task_id, changed.track_id)


def _intervals_requested(task_id: int) -> None:
    """Ask for new intervals, coalesced per task (at most one job queued and one running).
    The broker is a doorbell: a lost message's intervals come with the next refresh."""
    interval_jobs.request(task_id=task_id)


def _cache_and_prerender(task_id: int | None, track_id: int | None) -> None:
    """The cache: the versions of the boards of ``task_id`` (and of its track) are bumped,
    so the next read rebuilds them (never a stale board after a score but for an anonymous
    reader's grace). Then the prerender: those anonymous readers read are rendered again
    ahead of them."""
    boards = board_cache.bump(task_id=task_id, track_id=track_id)
    if boards:
        # The track's first: its standings (P(first), the pairwise verdicts) cost the most to
        # compute, and a score's participant reads them first (`chal leaderboard <track>`).
        prerender.request_after_bump(boards=sorted(boards, key=lambda b: b[0] != board_cache.TRACK))
