"""Fixtures of the scoring tests: a broker to publish to, tasks, participants, workers.

Test modules that publish (anything creating a submission after a commit) use the
``broker`` fixture: the session's real Redis, emptied first, so no message of an earlier
test reaches a later test's worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.cache import cache

from tests.support.browser import browser, browser_page  # noqa: F401 - fixtures
from tests.support.celery_worker import WorkerProcess

from .references_helpers import case  # noqa: F401 - a fixture of several modules


@pytest.fixture
def broker(redis_server, redis_client):
    """The session's Redis, flushed; the Celery app publishes to it."""
    redis_client.flushall()
    cache.clear()  # DRF's upload throttle counts in the cache
    return redis_client


@pytest.fixture
def scoring_worker_factory(
    redis_server, broker, transactional_db, tmp_path: Path
) -> Iterator[Callable]:
    """Start (and always stop) workers, each with its own environment; call ``.wait_ready()``."""
    started: list[WorkerProcess] = []

    def make(
        *, env: dict[str, str] | None = None, concurrency: int = 2, nodename: str | None = None
    ) -> WorkerProcess:
        worker = WorkerProcess(
            redis_url=redis_server.url,
            log_path=tmp_path / f"worker{len(started)}.log",
            concurrency=concurrency,
            name=f"scoring{len(started)}",
            env=env,
            nodename=nodename,
        ).start()
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.stop()


@pytest.fixture
def scoring_worker(scoring_worker_factory) -> WorkerProcess:
    """One ready worker on both queues."""
    worker = scoring_worker_factory()
    worker.wait_ready()
    return worker


@pytest.fixture(scope="module")
def _module_task_pks(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[dict]:
    from challenges.models import Challenge
    from datasets.models import Task
    from tests.scoring_tests.factories import ChallengeFactory, imported_task

    folder = tmp_path_factory.mktemp("module-tasks")
    with django_db_blocker.unblock():
        challenge = ChallengeFactory()
        tasks = {
            kind: imported_task(folder, kind=kind, challenge=challenge)
            for kind in ("classification", "matching")
        }
    yield {kind: task.pk for kind, task in tasks.items()}
    with django_db_blocker.unblock():
        Task.objects.filter(pk__in=[task.pk for task in tasks.values()]).delete()
        Challenge.objects.filter(pk=challenge.pk).delete()


@pytest.fixture
def module_tasks(_module_task_pks, db) -> dict:
    """One classification and one matching task, imported once per module (for plain
    ``django_db`` tests, which roll back their own rows); fresh instances for each test."""
    from datasets.models import Task

    return {
        kind: Task.objects.select_related("track__challenge").get(pk=pk)
        for kind, pk in _module_task_pks.items()
    }
