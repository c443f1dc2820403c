"""Worker liveness on a real Redis: beats, who is seen dead and when, no false alarms.

Each :class:`Liveness` here stands for one worker's thread; its clock is the test's (for
"how long have my own beats succeeded"), while key expiry runs on Redis's own clock, as in
production. Taking jobs back is recorded instead of touching the database (that part is
``tests/scoring_tests/test_job_claims.py`` and, with real workers, ``test_faults.py``).
"""

from __future__ import annotations

import json
import logging
import time

import pytest
import redis

from jobs import liveness
from jobs.liveness import BEAT_PREFIX, REGISTRY, Liveness


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def r(redis_client):
    redis_client.flushall()
    return redis_client


@pytest.fixture
def swept():
    return []


@pytest.fixture
def make(r, swept):
    def make(holder: str, *, lost_after: float = 3.0, claims: list[str] | None = None, **kw):
        clock = Clock()

        def sweep(dead: str, reason: str) -> tuple[list[int], list[int]]:
            swept.append((holder, dead, reason))
            return [1], []

        liveness = Liveness(
            holder=holder,
            client=kw.pop("client", r),
            beat_seconds=0.5,
            lost_after=lost_after,
            clock=clock,
            sweep=sweep,
            holders_of_claims=lambda: list(claims or []),
        )
        liveness.test_clock = clock
        return liveness

    return make


def expire(r, holder: str) -> None:
    """``holder``'s key runs out (as Redis does once it stopped beating)."""
    r.delete(BEAT_PREFIX + holder)


def test_a_beat_sets_an_expiring_key_and_the_worker_s_entry(r, make):
    a = make("scoring@a#1", lost_after=12)
    assert a.beat()
    assert 11_000 < r.pttl(BEAT_PREFIX + "scoring@a#1") <= 12_000
    entry = json.loads(r.hget(REGISTRY, "scoring@a#1"))
    assert entry["node"] == "scoring@a" and entry["pid"] > 0 and entry["max_gap"] == 0


def test_a_worker_whose_key_expired_is_taken_back_once_by_one_watcher(r, make, swept):
    a, b, c = make("w@a#1"), make("w@b#1", lost_after=0.3), make("w@c#1")
    for watch in (a, b, c):
        watch.beat()
    time.sleep(0.5)  # b beats no more: Redis expires its key
    a.beat()
    c.beat()
    assert not a.may_judge()  # a's own beats have not lasted a whole lost-after yet
    a.test_clock.advance(3)
    c.test_clock.advance(3)
    a.beat()
    c.beat()
    assert a.may_judge()

    dead = a.dead()
    assert list(dead) == ["w@b#1"]
    assert dead["w@b#1"].startswith("its worker w@b#1 stopped beating (no beat within 3 s")
    assert a.take_back("w@b#1", dead["w@b#1"])
    assert not c.take_back("w@b#1", dead["w@b#1"])  # a holds the lock: no second sweep
    assert swept == [("w@a#1", "w@b#1", dead["w@b#1"])]
    assert a.dead() == {} and c.dead() == {}  # kept as dead, judged no more


def test_nobody_is_judged_until_the_watcher_has_beaten_for_a_whole_lost_after(r, make):
    unreachable = redis.Redis(port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    a = make("w@a#1", client=unreachable)
    assert not a.beat()  # Redis unreachable: nobody can beat, so nobody may be judged
    a.test_clock.advance(60)
    assert not a.may_judge()
    a.client = r
    assert a.beat()
    a.test_clock.advance(2.9)
    assert not a.may_judge()
    a.test_clock.advance(0.1)
    assert a.may_judge()


def test_a_flushed_redis_makes_no_worker_look_dead(r, make):
    a, b = make("w@a#1"), make("w@b#1")
    a.beat()
    b.beat()
    r.flushall()
    assert a.dead() == {}  # entry and key went together
    assert b.beat() and r.hexists(REGISTRY, "w@b#1")


def test_a_worker_presumed_dead_says_so_when_it_beats_again(r, make, caplog):
    a, b = make("w@a#1"), make("w@b#1")
    a.beat()
    b.beat()
    expire(r, "w@b#1")
    assert a.take_back("w@b#1", "its worker w@b#1 stopped beating")
    with caplog.at_level(logging.ERROR, logger="jobs.liveness"):
        b.beat()
    assert "worker w@b#1 was presumed dead (its worker w@b#1 stopped beating" in caplog.text
    assert a.dead() == {}  # alive again


def test_a_worker_presumed_dead_that_then_dies_is_taken_back_at_once(r, make, swept):
    """Chaos run 4242 (issue 66): a link cut had worker1 presumed dead and taken back; it beat
    again, was killed 78 s later, and its job waited 54 s, until the first take-back's lock
    ran out. The lock is held only while taking back: the second death is taken back as
    soon as it is seen."""
    a, b = make("w@a#1"), make("w@b#1")
    a.beat()
    b.beat()
    expire(r, "w@b#1")  # the link is cut: b's key runs out
    assert a.take_back("w@b#1", "its worker w@b#1 stopped beating")
    assert not r.exists(liveness.LOCK_PREFIX + "w@b#1")  # not held past the sweep
    assert b.beat()  # the link is back: b works again (and holds jobs again)
    assert a.dead() == {}
    expire(r, "w@b#1")  # now b is killed
    dead = a.dead()
    assert list(dead) == ["w@b#1"]
    assert a.take_back("w@b#1", dead["w@b#1"])
    assert [who for _, who, _ in swept] == ["w@b#1", "w@b#1"]
    assert not a.take_back("w@b#1", dead["w@b#1"])  # once per death: the entry says dead


def test_a_lock_another_worker_holds_is_never_released_by_this_one(r, make, swept):
    a = make("w@a#1")
    a.beat()
    r.set(liveness.LOCK_PREFIX + "w@b#1", "w@c#1", ex=60)  # c is taking b back now
    assert not a.take_back("w@b#1", "its worker w@b#1 stopped beating")
    assert r.get(liveness.LOCK_PREFIX + "w@b#1") == b"w@c#1"
    assert swept == []


def test_a_clean_stop_is_seen_at_once(r, make):
    a, b = make("w@a#1"), make("w@b#1")
    a.beat()
    b.beat()
    b.stop()
    assert a.dead() == {"w@b#1": "its worker w@b#1 shut down"}


def test_at_start_a_worker_takes_back_its_earlier_boot_and_watches_the_other_holders(
    r, make, swept
):
    claims = ["w@a#old", "w@c#1", "w@d#1"]
    a, d = make("w@a#new", claims=claims), make("w@d#1")
    d.beat()  # d is alive; c left claims and no entry (Redis lost it, say)
    a.tick()
    a.checking.join(5)  # the look at the others runs beside the beats
    assert swept == [("w@a#new", "w@a#old", "its worker w@a restarted (w@a#old -> w@a#new)")]
    assert set(a.suspects) == {"w@c#1", "w@d#1"}

    assert a.dead() == {}  # c silent for 0 s as far as a has seen; d beats
    assert set(a.suspects) == {"w@c#1"}
    a.test_clock.advance(2.5)
    assert a.dead() == {}
    a.test_clock.advance(0.5)
    dead = a.dead()
    assert list(dead) == ["w@c#1"]
    assert dead["w@c#1"].startswith("its worker w@c#1 was silent for 3 s")


def test_the_lost_after_time_is_at_least_three_beats(settings):
    settings.WORKER_BEAT_SECONDS = 2
    settings.WORKER_LOST_AFTER_SECONDS = 1
    assert liveness.beat_settings() == (2.0, 6.0)


def test_the_largest_gap_counts_good_beats_of_the_running_thread_only(r, make):
    a = make("w@a#1")
    a.beat()  # at start-up, before the thread runs
    a.test_clock.advance(9)
    a.running, a.last_beat = True, None
    a.beat()
    a.test_clock.advance(1.5)
    a.beat()
    good = a.client
    a.client = redis.Redis(port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    a.test_clock.advance(20)
    assert not a.beat()  # an outage: nobody beats, and the rule above covers it
    a.client = good
    a.test_clock.advance(1)
    a.beat()
    assert a.max_gap == 1.5
    assert json.loads(r.hget(REGISTRY, "w@a#1"))["max_gap"] == 1.5


def _resets(liveness: Liveness) -> list[str]:
    """Wire ``liveness.broker_reset`` to a list (it runs in a thread of its own)."""
    import threading

    seen: list[str] = []
    done = threading.Event()

    def reset(reason: str) -> None:
        seen.append(reason)
        done.set()

    liveness.broker_reset = reset
    liveness.test_reset_done = done
    return seen


def test_a_broker_that_lost_its_data_has_one_worker_publish_every_queued_job(r, make):
    """Redis restarted empty (here: flushed): the marker key is gone, the first worker to
    beat sees it and calls its broker_reset once; the others find the marker again."""
    a, b = make("w@a#1"), make("w@b#1")
    seen_a, seen_b = _resets(a), _resets(b)
    assert a.beat() and b.beat()  # the first beat ever set the marker: a fresh broker
    a.test_reset_done.wait(5)
    assert len(seen_a) + len(seen_b) == 1
    seen_a.clear()
    seen_b.clear()
    r.delete(liveness.RESET_LOCK)
    assert a.beat() and b.beat()
    assert seen_a == seen_b == []  # nothing changed: nothing to publish
    r.flushall()
    assert b.beat() and a.beat()
    b.test_reset_done.wait(5)
    assert seen_b == ["the broker had lost its data (restarted empty or flushed)"]
    assert seen_a == []


def test_a_broker_restarted_from_its_file_is_seen_by_its_new_run_id(tmp_path, make):
    """A restart that kept the data (the append-only file may still lack the last second
    of messages): every worker sees Redis's new run id, one of them republishes."""
    from runtime.localredis import start_local_redis

    server = start_local_redis(tmp_path / "redis")
    try:
        client = redis.Redis(port=server.port, socket_timeout=5)
        a, b = make("w@a#1", client=client), make("w@b#1", client=client)
        seen_a, seen_b = _resets(a), _resets(b)
        assert a.beat() and b.beat()
        a.test_reset_done.wait(5)
        del seen_a[:], seen_b[:]
        client.delete(liveness.RESET_LOCK)
        client.save()
        server.stop()
        server = start_local_redis(tmp_path / "redis", port=server.port)
        assert client.exists(liveness.EPOCH_KEY)  # the data came back with it
        assert a.beat() and b.beat()
        a.test_reset_done.wait(5)
        assert seen_a == ["the broker restarted"] and seen_b == []
        assert a.beat() and b.beat() and seen_b == []
    finally:
        server.stop()


def test_a_worker_that_could_not_reach_the_broker_has_the_queued_jobs_published_again(r, make):
    """Its link to Redis was cut: what others published meanwhile failed, so its first good
    beat after has every queued job published again (one worker, by the lock)."""
    a = make("w@a#1")
    seen = _resets(a)
    assert a.beat()
    a.test_reset_done.wait(5)
    seen.clear()
    r.delete(liveness.RESET_LOCK)
    good = a.client
    a.client = redis.Redis(port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    a.test_clock.advance(1)
    assert not a.beat()  # cut off
    a.client = good
    a.test_clock.advance(20)
    assert a.beat()
    a.test_reset_done.wait(5)
    assert seen == ["the broker could not be reached for 21 s"]


def test_the_beats_never_wait_for_the_look_at_the_others(r, make):
    """Reading the claims table and taking jobs back is database work that may take seconds
    (a loaded database, a cut link): it runs beside the beats, one look at a time, so a
    worker is never taken for dead because its own look at the others was slow."""
    import threading

    release = threading.Event()
    looks: list[int] = []

    def slow_claims() -> list[str]:
        looks.append(1)
        release.wait(10)
        return []

    a = make("w@a#1")
    a.holders_of_claims = slow_claims
    started = time.monotonic()
    a.tick()
    a.tick()  # the first look still runs: no second one
    assert time.monotonic() - started < 2 and r.exists(BEAT_PREFIX + "w@a#1")
    release.set()
    a.checking.join(5)
    assert looks == [1]


class _StopsBetweenReads:
    """A Redis client whose registry read is followed at once by ``stopping``'s clean stop
    (what a Ctrl-C does to every worker at the same moment)."""

    def __init__(self, client, stopping) -> None:
        self.client, self.stopping = client, stopping

    def hgetall(self, name):
        entries = self.client.hgetall(name)
        self.stopping.stop()
        return entries

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_a_worker_stopping_between_the_two_reads_is_seen_shut_down_not_silent(r, make, caplog):
    """Issue 66: a Ctrl-C logged "seen dead ... stopped beating ... last beat 0.4 s ago" for
    a worker that had stopped cleanly, read between the registry and the keys."""
    b = make("w@b#1")
    a = make("w@a#1", client=_StopsBetweenReads(r, b))
    a.beat()
    b.beat()
    assert a.dead() == {"w@b#1": "its worker w@b#1 shut down"}


def test_a_new_broker_at_the_first_start_is_no_warning(r, make, caplog):
    """Issue 66: a brand-new install's first start warned "the broker had lost its data"."""
    a = make("w@a#1")
    seen = _resets(a)
    with caplog.at_level(logging.INFO, logger="jobs.liveness"):
        assert a.beat()
        a.test_reset_done.wait(5)
    assert seen == ["the broker held no mark of this platform (new, or empty)"]
    assert not [rec for rec in caplog.records if rec.levelno >= logging.WARNING]
