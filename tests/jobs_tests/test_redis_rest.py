"""A Redis found unreachable is not tried again for a moment (jobs/redis_rest.py): the calls
meanwhile fail at once, with the error their callers handle, and make no connection; then
one call tries it, while the others still fail at once; a Redis that answers ends the rest.

The unreachable Redis is a socket that accepts connections and never answers (Redis behind a
cut link); what the tests count is the connections it accepted, not seconds."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.test import override_settings
from redis.exceptions import ConnectionError, RedisError

from challenge_platform.settings import base
from jobs import redis_rest
from jobs.celery import celery_app
from jobs.lifecycle import publish
from jobs.publish_failures import (
    UNSENT_PER_PUBLISH,
    keep_unsent,
    publish_failures,
    take_unsent,
)
from jobs.redis_rest import RestingRedisCache, rest_for
from leaderboard.cache import connection
from scoring.task_names import SCORE_SUBMISSION
from tests.support.broker import point_celery_at, queued_messages, task_of

LOCMEM = "django.core.cache.backends.locmem.LocMemCache"


class SilentRedis:
    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.held: list[socket.socket] = []
        self.url = f"redis://127.0.0.1:{self.server.getsockname()[1]}/0"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.held.append(self.server.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.server.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def silent() -> Iterator[SilentRedis]:
    redis = SilentRedis()
    yield redis
    redis.close()


def cache_at(url: str) -> RestingRedisCache:
    return RestingRedisCache(
        url, {"OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}}
    )


def timed_out(silent: SilentRedis, monkeypatch, *, rest: float) -> RestingRedisCache:
    """A cache of the silent Redis, resting ``rest`` seconds after a read that waited out
    its socket timeout."""
    monkeypatch.setattr(redis_rest, "REST_SECONDS", rest)
    cache = cache_at(silent.url)
    with pytest.raises(RedisError):
        cache.get("key")
    return cache


def calls(cache: RestingRedisCache, n: int) -> list[str]:
    """``n`` reads of ``cache`` at once from as many threads: what each raised."""
    raised: list[str] = []

    def read() -> None:
        try:
            cache.get("key")
            raised.append("answered")
        except RedisError as exc:
            raised.append(str(exc))

    threads = [threading.Thread(target=read) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return raised


def test_calls_after_one_that_found_redis_unreachable_fail_at_once_without_a_connection(
    silent, monkeypatch
):
    cache = timed_out(silent, monkeypatch, rest=60.0)
    assert len(silent.held) == 1
    raised = calls(cache, 8) + [type(e).__name__ for e in _each(cache)]
    assert all("not tried" in r or r == "ConnectionError" for r in raised), raised
    assert len(silent.held) == 1, "a call made a connection while Redis rested"


def _each(cache: RestingRedisCache) -> list[BaseException]:
    """One of each of the cache's calls, what each raised."""
    raised = []
    for call in (
        lambda: cache.set("k", 1),
        lambda: cache.add("k", 1),
        lambda: cache.get_many(["k", "l"]),
        lambda: cache.delete("k"),
        lambda: cache.incr("k"),
        lambda: cache.set_many({"k": 1}),
        lambda: cache.delete_many(["k"]),
        lambda: cache.has_key("k"),
        lambda: cache.touch("k"),
    ):
        with pytest.raises(ConnectionError) as caught:
            call()
        raised.append(caught.value)
    return raised


def test_after_the_rest_one_call_tries_redis_while_the_others_still_fail_at_once(
    silent, monkeypatch
):
    cache = timed_out(silent, monkeypatch, rest=0.3)
    time.sleep(0.5)  # the rest is over
    raised = calls(cache, 6)
    assert len(silent.held) == 2, "not exactly one call tried Redis again"
    assert sum("not tried" in r for r in raised) == 5, raised


def test_a_redis_that_answers_ends_the_rest(redis_server, monkeypatch):
    monkeypatch.setattr(redis_rest, "REST_SECONDS", 0.0)
    cache = cache_at(redis_server.url)
    rest = rest_for(address=redis_server.url)
    rest.was_down, rest.down_until = True, 0.0  # as after a cut link, the rest over
    cache.set("key", "value")
    assert (rest.was_down, rest.down_until) == (False, 0.0)
    assert cache.get("key") == "value"


def test_the_platform_s_cache_goes_through_the_rest():
    """Production's cache (the tests' own is in memory)."""
    assert base.CACHES["default"]["BACKEND"] == "jobs.redis_rest.RestingRedisCache"


@contextmanager
def broker_resting() -> Iterator[None]:
    """The broker's address rests in this process (as after a call that waited out its
    timeout), for the block."""
    rest = rest_for(address=celery_app().conf.broker_url)
    rest.was_down, rest.down_until = True, time.monotonic() + 60
    try:
        yield
    finally:
        rest.was_down, rest.down_until = False, 0.0


def test_a_publish_while_the_broker_s_redis_rests_is_not_tried_and_its_row_stays_queued(
    redis_server, redis_client
):
    """An upload's publish after its cache call waited out the timeout (the same Redis):
    refused at once, counted as a failed publish (the row stays queued and is published again
    once the broker answers), and nothing reaches the broker."""

    before = publish_failures().count
    waiting = queued_messages(redis_client, "scoring")  # other tests' in this session's Redis
    with broker_resting():
        assert publish(task_name=SCORE_SUBMISSION, submission_pk=1) is False
    assert publish_failures().count == before + 1
    assert queued_messages(redis_client, "scoring") == waiting


def test_a_failed_publish_rests_the_broker_so_a_command_s_next_publishes_fail_at_once():
    """A refused publish (nothing listens: kombu retries it for about a second) rests the
    broker's address for ``BROKER_REST_SECONDS``; the publishes after it are not tried, and
    each is counted (a command reports them at its end)."""
    app = celery_app()
    before_url, url = app.conf.broker_url, "redis://127.0.0.1:1/0"
    point_celery_at(app, url)
    rest = rest_for(address=url)
    before = publish_failures().count
    try:
        assert publish(task_name=SCORE_SUBMISSION, submission_pk=1) is False
        assert "not tried" not in publish_failures().last
        assert rest.was_down and rest.down_until > time.monotonic() + 1
        for pk in range(2, 6):
            assert publish(task_name=SCORE_SUBMISSION, submission_pk=pk) is False
            assert "not tried" in publish_failures().last
    finally:
        rest.was_down, rest.down_until = False, 0.0
        point_celery_at(app, before_url)
    assert publish_failures().count == before + 5


def test_a_publish_the_rest_skipped_is_sent_by_the_next_one_that_reaches_the_broker(
    redis_server, redis_client
):
    """Uploads made while the broker's address rests are not lost to the beat's republish
    (up to ``JOB_REPUBLISH_SECONDS`` later): the process's next publish that gets through
    sends them too, and they no longer count as failed."""
    before = publish_failures().count
    waiting = queued_messages(redis_client, "scoring")  # other tests' in this session's Redis
    with broker_resting():
        assert publish(task_name=SCORE_SUBMISSION, submission_pk=101) is False
        assert publish(task_name=SCORE_SUBMISSION, countdown=30, submission_pk=102) is False
    assert publish_failures().count == before + 2
    assert queued_messages(redis_client, "scoring") == waiting

    assert publish(task_name=SCORE_SUBMISSION, submission_pk=103) is True
    sent = [task_of(m)[1] for m in queued_messages(redis_client, "scoring") if m not in waiting]
    assert sorted(k["submission_pk"] for k in sent) == [101, 102, 103]  # 102 with its countdown
    assert publish_failures().count == before
    assert not publish_failures().unsent


def test_a_successful_publish_sends_a_bounded_number_of_the_kept_ones_oldest_first():
    """A request that published once the broker answered again does not wait for a whole
    cut's backlog: it sends ``UNSENT_PER_PUBLISH`` of them, the next publishes the rest."""
    kept = publish_failures().unsent
    for pk in range(250):
        kept.append((SCORE_SUBMISSION, None, False, {"submission_pk": pk}))
    first = take_unsent()
    assert [u[3]["submission_pk"] for u in first] == list(range(UNSENT_PER_PUBLISH))
    keep_unsent(unsent=first[-2:])  # the last two could not be sent after all: first in line again
    assert [u[3]["submission_pk"] for u in take_unsent(at_most=3)] == [98, 99, 100]
    assert len(take_unsent(at_most=1000)) == 250 - UNSENT_PER_PUBLISH - 1


def test_the_board_cache_counts_the_platform_s_cache_as_redis():
    """The boards' cache, the fast path and the renders ahead are on with production's cache
    backend (a check of the backend's name by its suffix turned them all off)."""
    with override_settings(CACHES=base.CACHES):
        assert connection.in_redis()
    with override_settings(CACHES={"default": {"BACKEND": LOCMEM}}):
        assert not connection.in_redis()
