"""Worker liveness: every Celery worker announces itself and beats; a job whose worker
stopped beating is taken back within seconds, not after the sweeper's stale time.

- **Who holds a job.** Each worker process is named by its Celery node name and a boot id
  drawn when it starts (``scoring@host#3f2a9c1b0d4e``): :func:`current_holder`, set in the
  worker's main process before the pool forks (:mod:`jobs.worker`), so every pool process
  inherits it. A claim made there records the holder (:mod:`jobs.holders`, ``JobClaim``).
- **Beats.** A thread of the worker's *main* process (never of the pool process running a
  task, so a task busy in a long C call, holding its GIL or not, cannot silence it) writes
  every ``WORKER_BEAT_SECONDS`` a key that Redis expires after ``WORKER_LOST_AFTER_SECONDS``
  and the holder's entry in one hash of workers (one transaction: an entry always had its
  key). Expiry runs on Redis's clock, so the hosts' clocks never matter.
- **Seeing a worker dead.** After each beat a thread of its own (one at a time, so the beats
  never wait for the database) reads the hash and the keys (two Redis reads): an entry
  whose key expired is a dead worker. One worker takes a Redis lock
  for it and calls its ``sweep`` (:func:`jobs.sweeps.jobs_sweep_lost`, given by
  :mod:`jobs.worker`), which re-queues (or fails, as each type decides) what the dead worker
  held, recording why on its claims. A worker
  that shuts down cleanly deletes its key, so anything it left is taken back at once.
- **At start** (``worker_ready``) a worker takes back at once what an earlier boot of its own
  node name held (it restarted: that boot is dead whatever its key says), and watches every
  other holder the claims table names (a worker whose entry Redis lost, in a flush) until
  it has been silent for ``WORKER_LOST_AFTER_SECONDS``; it reads the table again every minute.
- **No false alarms.** A checker judges only after its own beats have succeeded for a
  whole ``WORKER_LOST_AFTER_SECONDS``: when Redis was unreachable (a cut link, a restart)
  nobody could beat, and every live worker gets that long to beat again. A worker paused
  longer than that (a frozen machine) is taken for dead: its jobs go to other workers, and
  when it wakes the token rules of :mod:`jobs.lifecycle` drop its results; it logs
  that it was presumed dead. The largest gap between two good beats of the running thread
  is kept in each worker's entry (``max_gap``; gaps across a Redis outage do not count, the
  rule above covers them), which is how the defaults were measured
  (docs/decisions/0007-worker-liveness.md).

- **A broker that restarted.** Each beat also reads Redis's run id and sets a marker key only
  if it is missing: a new run id (Redis restarted, even from its append-only file, which may
  lack the last second of messages), a missing marker (Redis lost its data: restarted
  empty, flushed), or a beat after beats that could not reach Redis (its link was cut:
  whatever was published meanwhile failed) means messages may be lost. One worker (a short
  Redis lock) then calls its ``broker_reset`` (:mod:`jobs.worker`:
  :func:`jobs.republish.jobs_republish` for every queued job, whatever its age) in a thread
  of its own, so the beats go on: every pending job has a message again within seconds of
  the restart, not after ``JOB_REPUBLISH_SECONDS``.

The sweeper's stale time (``SWEEPER_STALE_AFTER_SECONDS``, beat) stays the last resort:
with Redis down nothing here can judge.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings

from jobs.celery import celery_app

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

REGISTRY = "platform:workers"  # hash: holder -> JSON (node, host, pid, started, beat, ...)
BEAT_PREFIX = "platform:worker-beat:"  # key per holder, expiring WORKER_LOST_AFTER_SECONDS
LOCK_PREFIX = "platform:worker-sweep:"  # who takes a dead holder's jobs back
LOCK_SECONDS = 120  # the most a take-back may hold the lock (a sweep that hangs)
# Delete a lock only if it is still this worker's (it may have run out and been taken).
UNLOCK_IF_OURS = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)
# Set when missing on each beat: absent, Redis lost its data (docstring, "A broker that
# restarted"); the lock lets one worker republish for one restart.
EPOCH_KEY = "platform:broker-epoch"
RESET_LOCK = "platform:broker-reset"
RESET_LOCK_SECONDS = 10
DISCOVER_SECONDS = 60.0
FORGET_DEAD_SECONDS = 3600.0  # a dead worker's entry is dropped after this long

_holder = ""


def current_holder() -> str:
    """This process's worker as a job holder (``<node name>#<boot id>``); "" outside one."""
    return _holder


def name_this_worker(*, node: str) -> str:
    """Name this process (a worker's main process, before its pool forks) as a holder: the
    node name and a boot id drawn now (``scoring@host#3f2a9c1b0d4e``)."""
    global _holder
    _holder = f"{node}#{uuid.uuid4().hex[:12]}"
    return _holder


def node_of(*, holder: str) -> str:
    return holder.rpartition("#")[0]


def live_nodes(*, queue: str | None = None) -> set[str]:
    """The node names of the workers beating now (two Redis reads), only those consuming
    ``queue`` when given; empty when Redis does not answer (the caller must then not wait
    for another worker)."""
    import redis  # here: a process that never asks imports no broker client

    try:
        live = live_entries(client=broker_redis())
    except redis.RedisError:
        logger.warning("could not read the live workers", exc_info=True)
        return set()
    return {
        node_of(holder=holder)
        for holder, entry in live.items()
        if queue is None or queue in entry.get("queues", [])
    }


def live_entries(*, client: redis.Redis) -> dict[str, dict[str, Any]]:
    """The registry entries of the workers beating now, by holder (two Redis reads; Redis's
    errors are the caller's): each names its ``node`` and the ``queues`` it consumes."""
    entries = {k.decode(): v for k, v in client.hgetall(REGISTRY).items()}
    if not entries:
        return {}
    holders = sorted(entries)
    beats = client.mget([BEAT_PREFIX + h for h in holders])
    return {
        holder: _entry(entries[holder])
        for holder, beat in zip(holders, beats, strict=True)
        if beat is not None
    }


def _entry(raw: bytes | str) -> dict[str, Any]:
    try:
        entry = json.loads(raw)
    except ValueError:
        return {}
    return entry if isinstance(entry, dict) else {}


def broker_redis() -> redis.Redis:
    """A client of the broker's Redis (every worker and web process shares it)."""
    import redis

    timeout = float(settings.REDIS_SOCKET_TIMEOUT)
    return redis.Redis.from_url(
        str(celery_app().conf.broker_url), socket_timeout=timeout, socket_connect_timeout=timeout
    )


def beat_settings() -> tuple[float, float]:
    """``(beat every, lost after)`` in seconds; the second at least three beats."""
    beat = max(float(settings.WORKER_BEAT_SECONDS), 0.1)
    return beat, max(float(settings.WORKER_LOST_AFTER_SECONDS), 3 * beat)


@dataclass
class Liveness:
    """One worker's beats and its watch over the others (run by :meth:`run` in a thread)."""

    holder: str
    client: redis.Redis
    beat_seconds: float
    lost_after: float
    # Take back a dead holder's jobs, ``(holder, reason) -> (requeued, failed)``, and list
    # every holder the claims table names: the lifecycle's, given by jobs.worker.
    sweep: Callable[[str, str], tuple[list[int], list[int]]]
    holders_of_claims: Callable[[], list[str]]
    queues: tuple[str, ...] = ()  # what this worker consumes (in its entry, for live_nodes)
    # Publish again every queued job's message (the broker restarted: docstring), given
    # ``reason``; run in a thread of its own. None: nothing is done.
    broker_reset: Callable[[str], None] | None = None
    broker_run_id: str | None = None  # Redis's run id at the last good beat
    clock: Callable[[], float] = time.monotonic
    started: float = field(default_factory=time.time)
    connected_since: float | None = None  # first beat of the current run of good beats
    last_beat: float | None = None
    max_gap: float = 0.0
    suspects: dict[str, float] = field(default_factory=dict)  # holder -> silent since
    discovered_at: float | None = None
    running: bool = False  # in the thread's loop (gaps before it, at start-up, do not count)
    stopping: threading.Event = field(default_factory=threading.Event)
    checking: threading.Thread | None = None  # the look at the others (tick), while it runs

    @property
    def node(self) -> str:
        return node_of(holder=self.holder)

    def beat(self) -> bool:
        """Write this worker's key and entry; False (logged) when Redis did not answer."""
        import redis

        now = self.clock()
        gap = now - self.last_beat if self.last_beat is not None else 0.0
        steady = self.running and self.connected_since is not None  # the last one was good
        # Redis could not be reached since the last good beat: what others published then
        # may be lost (module docstring, "A broker that restarted").
        unreachable = self.connected_since is None and self.last_beat is not None
        entry = {
            "node": self.node,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": self.started,
            "beat": time.time(),
            "max_gap": round(max(self.max_gap, gap if steady else 0.0), 3),
            "queues": list(self.queues),
        }
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.set(BEAT_PREFIX + self.holder, "1", px=int(self.lost_after * 1000))
            pipe.hget(REGISTRY, self.holder)
            pipe.hset(REGISTRY, self.holder, json.dumps(entry))
            pipe.set(EPOCH_KEY, self.holder, nx=True)
            pipe.info("server")
            _, before, _, marked, server = pipe.execute()
        except redis.RedisError as exc:
            if self.connected_since is not None:
                logger.warning("worker %s could not beat: %s", self.holder, exc)
            self.connected_since = None
            return False
        if before is not None and (why := _entry(before).get("dead")):
            logger.error(
                "worker %s was presumed dead (%s; this beat came %.1f s after the last): the"
                " jobs it held went to other workers and its results for them are dropped",
                self.holder,
                why,
                gap,
            )
        if steady:
            self.max_gap = max(self.max_gap, gap)
        self.last_beat = now
        if self.connected_since is None:
            self.connected_since = now
        self._broker_restarted(
            marked=bool(marked),
            run_id=str(server.get("run_id", "")),
            unreachable_for=gap if unreachable else None,
        )
        return True

    def _broker_restarted(
        self, *, marked: bool, run_id: str, unreachable_for: float | None = None
    ) -> None:
        """After a beat: did Redis restart, lose its data, or could it not be reached since
        the last one? Then one worker has every queued job published again (module
        docstring)."""
        import redis

        before, self.broker_run_id = self.broker_run_id, run_id
        level = logging.WARNING
        if marked and before is None:
            # This worker's first beat found no mark: a new broker (a brand-new install's
            # first start) or one that restarted empty while no worker ran. Queued jobs, if
            # any, are published again all the same; it is news, not a warning.
            reason, level = "the broker held no mark of this platform (new, or empty)", logging.INFO
        elif marked:
            reason = "the broker had lost its data (restarted empty or flushed)"
        elif before is not None and run_id != before:
            reason = "the broker restarted"
        elif unreachable_for is not None:
            reason = f"the broker could not be reached for {unreachable_for:.0f} s"
        else:
            return
        if self.broker_reset is None:
            return
        try:
            if not self.client.set(RESET_LOCK, self.holder, nx=True, ex=RESET_LOCK_SECONDS):
                return  # another worker is on it
        except redis.RedisError:  # the next beat sees the same and tries again
            self.broker_run_id = before
            return
        logger.log(level, "worker %s: %s; publishing every queued job again", self.holder, reason)
        threading.Thread(
            target=self.broker_reset, args=(reason,), name="broker-reset", daemon=True
        ).start()

    def may_judge(self) -> bool:
        """Only after a whole ``lost_after`` of good beats (see the module's docstring)."""
        return (
            self.connected_since is not None
            and self.clock() - self.connected_since >= self.lost_after
        )

    def dead(self) -> dict[str, str]:
        """The holders seen dead now, each with the reason (two Redis reads, and a third for
        the entries of holders without a key: a worker that stopped cleanly between the
        first two, on a Ctrl-C, had its key gone while the entry read was still its last
        beat's; its stop writes both at once, so the entry read after the key is its
        "stopped" one, and it is not reported as having stopped beating)."""
        entries = self.client.hgetall(REGISTRY)
        registered = {k.decode(): v for k, v in entries.items()}
        watched = sorted(set(registered) | set(self.suspects))
        if not watched:
            return {}
        alive = self.client.mget([BEAT_PREFIX + h for h in watched])
        silent = [
            h for h, beat in zip(watched, alive, strict=True) if beat is None and h in registered
        ]
        if silent:
            again = self.client.hmget(REGISTRY, silent)
            registered.update({h: v for h, v in zip(silent, again, strict=True) if v is not None})
        now = self.clock()
        found: dict[str, str] = {}
        for holder, beat in zip(watched, alive, strict=True):
            if beat is not None or holder == self.holder:
                self.suspects.pop(holder, None)
                continue
            entry = _entry(registered[holder]) if holder in registered else None
            if entry is not None and entry.get("dead"):
                self.suspects.pop(holder, None)
                if time.time() - float(entry.get("at") or 0) > FORGET_DEAD_SECONDS:
                    self.client.hdel(REGISTRY, holder)
                continue
            if entry is not None:
                found[holder] = self._reason(holder, entry)
            elif now - self.suspects.setdefault(holder, now) >= self.lost_after:
                found[holder] = (
                    f"its worker {holder} was silent for {now - self.suspects[holder]:.0f} s"
                    " (no beat; known from the claims table)"
                )
        return found

    def _reason(self, holder: str, entry: dict[str, Any]) -> str:
        if entry.get("stopped"):
            return f"its worker {holder} shut down"
        last = entry.get("beat")
        since = f"; last beat {time.time() - last:.1f} s ago" if isinstance(last, float) else ""
        return (
            f"its worker {holder} stopped beating (no beat within {self.lost_after:.0f} s{since})"
        )

    def take_back(self, holder: str, reason: str) -> bool:
        """Take ``holder``'s jobs back, unless another worker is doing it or has done it;
        True when done. The lock is held only while the jobs are taken back: afterwards the
        entry marked dead stops a second sweep, and a worker that was only presumed dead
        (a cut link) overwrites that mark with its next beat, so that if it then really
        dies it is taken back as soon as it is seen dead, not once a lock runs out."""
        lock = LOCK_PREFIX + holder
        if not self.client.set(lock, self.holder, nx=True, ex=LOCK_SECONDS):
            return False
        try:
            if _entry(self.client.hget(REGISTRY, holder) or "{}").get("dead"):
                return False  # another worker took it back since this one looked
            try:
                requeued, failed = self.sweep(holder, reason)
            except Exception:
                logger.warning("could not take back the jobs of %s yet", holder, exc_info=True)
                return False
            # Kept a while as dead, so that the worker, if it was only frozen, learns it.
            self.client.hset(REGISTRY, holder, json.dumps({"dead": reason, "at": time.time()}))
        finally:
            self.client.eval(UNLOCK_IF_OURS, 1, lock, self.holder)
        self.suspects.pop(holder, None)
        # A worker that shut down cleanly left nothing (its jobs went back as it stopped):
        # worth a line, not a warning.
        level = logging.WARNING if requeued or failed or "shut down" not in reason else logging.INFO
        logger.log(
            level, "worker %s seen dead (%s): re-queued %s, failed %s", holder, reason, requeued,
            failed,
        )  # fmt: skip
        return True

    def discover(self, *, at_start: bool = False) -> None:
        """Watch every holder the claims table names; at start, take back at once what an
        earlier boot of this node held."""
        self.discovered_at = self.clock()
        for holder in self.holders_of_claims():
            if holder == self.holder:
                continue
            if at_start and node_of(holder=holder) == self.node:
                self.take_back(
                    holder, f"its worker {self.node} restarted ({holder} -> {self.holder})"
                )
            else:
                self.suspects.setdefault(holder, self.clock())

    def tick(self) -> None:
        """One beat, then (once allowed) one look at the others, in a thread of its own: the
        look reads the claims table and takes a dead worker's jobs back, database work that
        may wait seconds (a loaded database, a cut link); the beats must not (a worker whose
        beat waited for it would itself be taken for dead). One look at a time: while one
        runs, a beat starts none."""
        if not self.beat():
            return
        if self.checking is not None and self.checking.is_alive():
            return
        self.checking = threading.Thread(
            target=self.check_others, name="worker-liveness-checks", daemon=True
        )
        self.checking.start()

    def check_others(self) -> None:
        """Discover the holders the claims table names, and take back the dead ones."""
        import redis

        try:
            if self.discovered_at is None:
                self.discover(at_start=True)
            elif self.clock() - self.discovered_at >= DISCOVER_SECONDS:
                self.discover()
            if self.may_judge():
                for holder, reason in self.dead().items():
                    self.take_back(holder, reason)
        except redis.RedisError as exc:
            logger.warning("worker %s could not check the others: %s", self.holder, exc)
        except Exception:  # the database away: the next tick tries again
            logger.warning("worker %s could not check the others", self.holder, exc_info=True)

    def run(self) -> None:
        self.running, self.last_beat = True, None
        while not self.stopping.is_set():
            started = self.clock()
            self.tick()
            self.stopping.wait(max(self.beat_seconds - (self.clock() - started), 0.05))

    def stop(self) -> None:
        """A clean stop: the entry says so and the key goes, so whatever this worker still
        held (nothing, after a warm shutdown) is taken back at once."""
        import redis

        self.stopping.set()
        try:
            entry = {"node": self.node, "pid": os.getpid(), "stopped": True, "beat": time.time()}
            pipe = self.client.pipeline(transaction=True)
            pipe.delete(BEAT_PREFIX + self.holder)
            pipe.hset(REGISTRY, self.holder, json.dumps(entry))
            pipe.execute()
        except redis.RedisError:
            logger.warning("worker %s could not say it stopped", self.holder)
