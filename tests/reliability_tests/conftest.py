"""Fixtures of the reliability tests: real workers and a real beat, with their own settings.

Every fixture that starts a process stops it afterwards; the broker is the session's real
Redis, flushed before each test so no message of an earlier test reaches these workers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.cache import cache

from tests.support.celery_worker import REPO, WorkerProcess, database_url_for_workers

WORKER_SETTINGS = "tests.reliability_tests.worker_settings"


class Worker(WorkerProcess):
    """A worker with the reliability settings module (the database fault hook)."""

    def __init__(self, *, settings_module: str = WORKER_SETTINGS, **kwargs) -> None:
        super().__init__(settings_module=settings_module, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class Beat(Worker):
    """``celery beat`` with a given schedule file (the scheduler as its own process)."""

    def __init__(self, *, schedule: Path, **kwargs) -> None:
        super().__init__(**kwargs)
        self.schedule = schedule

    def start(self) -> Beat:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "challenge_platform",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.schedule),
                "--max-interval",
                "1",
            ],
            cwd=REPO,
            env={
                **os.environ,
                "REDIS_URL": self.redis_url,
                "DATABASE_URL": database_url_for_workers(),
                "DJANGO_SETTINGS_MODULE": self.settings_module,
                "PYTHONUNBUFFERED": "1",
                **self.extra_env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self


@pytest.fixture
def broker(redis_server, redis_client):
    """The session's Redis, flushed; the Celery app of this process publishes to it."""
    redis_client.flushall()
    cache.clear()  # DRF's throttles count in the cache
    return redis_client


@pytest.fixture
def processes(redis_server, broker, transactional_db, tmp_path: Path) -> Iterator[Callable]:
    """Start workers (``kind="worker"``) or beats (``kind="beat"``); all stopped afterwards."""
    started: list[Worker] = []

    def start(kind: str = "worker", **kwargs) -> Worker:
        cls = Beat if kind == "beat" else Worker
        process = cls(
            redis_url=redis_server.url,
            log_path=tmp_path / f"{kind}{len(started)}.log",
            name=f"{kind}{len(started)}",
            **kwargs,
        ).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
