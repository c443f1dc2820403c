"""The tests' broker (``tests/conftest.py``): pointing this process's Celery app at another
Redis leaves it able to publish. Its connection pool and the producer pool built on it are
made again for the new broker; a publish before the move (a test without the ``redis_server``
fixture that published at commit, its session's Redis started later) once left the producer
pool holding the closed connection pool, and every later publish of the process failed
with "Acquire on closed pool" (seen running several test files in one process, no xdist)."""

from __future__ import annotations

from pathlib import Path

from jobs.celery import app
from runtime.localredis import start_local_redis
from tests.support.broker import point_celery_at

PROBE = "h44.probe"  # a queue of this test's own: no worker takes it


def _send() -> None:
    app.send_task("tests.probe", queue=PROBE, retry=False)


def test_publishing_goes_on_after_the_broker_moves_and_back(redis_server, tmp_path: Path):
    import redis

    session = redis.Redis.from_url(redis_server.url)
    other_server = start_local_redis(tmp_path / "other", port=None)
    other = redis.Redis.from_url(other_server.url)
    try:
        _send()  # the producer pool now exists, on the session's broker
        assert session.llen(PROBE) == 1
        point_celery_at(app, other_server.url)
        _send()
        assert other.llen(PROBE) == 1 and session.llen(PROBE) == 1
    finally:
        point_celery_at(app, redis_server.url)
        other_server.stop()
    _send()  # back on the session's broker, whose pools the first move closed
    assert session.llen(PROBE) == 2
    session.delete(PROBE)
