"""Shared fixtures: a real Redis and real Celery worker processes, and an organizer's client
(the console's tests and the operations' health panel sign in with it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from runtime.localredis import LocalRedis, start_local_redis
from tests.support.broker import point_celery_at
from tests.support.celery_worker import WorkerProcess


@pytest.fixture(autouse=True)
def _fresh_default_cache() -> None:
    """Every test starts with an empty default cache (a per-process LocMemCache in the test
    settings): rate-limit counters and cached pages of the tests that ran before in the same
    process (pytest-xdist puts many files in one) must not answer for this one."""
    from django.core.cache import caches

    caches["default"].clear()


@pytest.fixture(autouse=True)
def _no_publish_carried_over() -> Iterator[None]:
    """A publish a test made fail is not sent again by a later test's publish in the same
    process (``jobs.publish_failures`` keeps failed publishes to send them once the broker
    answers), and no Redis address rests into the next test (``jobs.redis_rest``)."""
    yield
    from jobs import redis_rest
    from jobs.publish_failures import publish_failures

    publish_failures().unsent.clear()
    with redis_rest._rests_lock:
        redis_rest._rests.clear()


@pytest.fixture
def organizer_client(client):
    """The test client, signed in as a staff superuser (an organizer of the console)."""
    organizer = get_user_model().objects.create_user(
        "org", password="x", is_staff=True, is_superuser=True
    )
    client.force_login(organizer)
    return client


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedis]:
    """A private redis-server for this test session, on a free port."""
    from jobs.celery import app

    server = start_local_redis(tmp_path_factory.mktemp("redis"), port=None)
    point_celery_at(app, server.url)
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server: LocalRedis):
    import redis

    return redis.Redis.from_url(redis_server.url)


@pytest.fixture
def celery_worker(
    redis_server: LocalRedis, transactional_db, tmp_path: Path
) -> Iterator[WorkerProcess]:
    """A real worker process on both queues, against the test database. Stopped afterwards."""
    worker = WorkerProcess(redis_url=redis_server.url, log_path=tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def worker_factory(redis_server: LocalRedis, transactional_db, tmp_path: Path) -> Iterator:
    """Start (and later stop) as many workers as a fault test needs."""
    started: list[WorkerProcess] = []

    def make(**kwargs) -> WorkerProcess:
        worker = WorkerProcess(
            redis_url=redis_server.url, log_path=tmp_path / f"worker{len(started)}.log", **kwargs
        ).start()
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.stop()
