"""Fixtures of the algorithm tests: a challenge with a classification and a matching task,
a participant, small sandbox limits, and a real worker on the ``algorithms`` queue."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.cache import cache

from algorithms.services import execute as pipeline
from algorithms.services.output import CheckedOutput
from datasets.models import Task
from tests.scoring_tests.factories import ChallengeFactory, imported_task, make_participant
from tests.support.algorithms_worker import LIMITS, WORKER_SECRET
from tests.support.browser import browser, browser_page  # noqa: F401 - fixtures
from tests.support.celery_worker import WorkerProcess


@pytest.fixture
def small_limits(settings):
    for name, value in LIMITS.items():
        setattr(settings, name, value)
    return settings


@dataclass
class World:
    challenge: object
    classification: Task
    matching: Task
    participant: object
    rival: object


@pytest.fixture
def world(tmp_path: Path, small_limits, transactional_db) -> World:
    challenge = ChallengeFactory(daily_submission_limit=20, private_revealed=False)
    classification = imported_task(tmp_path, challenge=challenge, slug="algo-cls")
    matching = imported_task(
        tmp_path, kind="matching", challenge=challenge, slug="algo-match", images=True
    )
    return World(
        challenge=challenge,
        classification=classification,
        matching=matching,
        participant=make_participant(challenge, username="ada"),
        rival=make_participant(challenge, username="rival"),
    )


@pytest.fixture
def broker(redis_server, redis_client):
    redis_client.flushall()
    cache.clear()
    return redis_client


@pytest.fixture
def algorithms_worker(redis_server, broker, transactional_db, tmp_path: Path) -> Iterator:
    """A real worker on the algorithms and scoring queues, one job at a time."""
    worker = WorkerProcess(
        redis_url=redis_server.url,
        log_path=tmp_path / "algorithms-worker.log",
        queues="algorithms,scoring",
        concurrency=1,
        name="algorithms",
        env={"SECRET_KEY": WORKER_SECRET, "ALGORITHM_WALL_SECONDS": "60"},
    ).start()
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def algorithms_worker_factory(redis_server, broker, transactional_db, tmp_path: Path) -> Iterator:
    """Start the algorithms worker later in the test (e.g. after a page has loaded)."""
    started: list[WorkerProcess] = []

    def make(env: dict[str, str] | None = None) -> WorkerProcess:
        worker = WorkerProcess(
            redis_url=redis_server.url,
            log_path=tmp_path / f"algorithms-worker{len(started)}.log",
            queues="algorithms,scoring",
            concurrency=1,
            name=f"algorithms{len(started)}",
            env=env,
        ).start()
        started.append(worker)
        worker.wait_ready()
        return worker

    yield make
    for worker in started:
        worker.stop()


@pytest.fixture
def after_the_check(monkeypatch):
    """``install(change)``: run ``change(checked)`` on what a run's output check gave, before
    the outcome scores it; the file the run wrote is kept (``kept["file"]``, a copy; its
    inode: ``kept["inode"]``), with what the check handed on (``kept["handed"]``)."""
    kept: dict[str, object] = {}
    real = pipeline.predictions_file

    def install(change=None):
        def checked_then(**kwargs) -> CheckedOutput:
            checked = real(**kwargs)
            kept["file"] = Path(shutil.copy(checked.file, kwargs["output"].parent.parent))
            kept["inode"] = os.stat(checked.file).st_ino
            kept["handed"] = checked.handed
            return checked if change is None else change(checked)

        monkeypatch.setattr(pipeline, "predictions_file", checked_then)
        return kept

    return install
