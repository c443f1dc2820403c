"""Fixtures of the reliability tests: real workers and a real beat, with their own settings.

Every fixture that starts a process stops it afterwards; the broker is the session's real
Redis, flushed before each test so no message of an earlier test reaches these workers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from challenges.models import Challenge
from datasets.models import Task
from datasets.services import task_import
from testkit.bundles import write_classification_bundle
from tests.challenges_tests.factories import (
    ChallengeFactory,
    TeamFactory,
    UserFactory,
    add_member,
    api_key,
)
from tests.support.celery_worker import REPO, WorkerProcess, database_url_for_workers
from tests.support.waiting import wait_for  # noqa: F401 - this folder's tests import it

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


@dataclass
class Setup:
    task: Task
    client: APIClient
    user: object
    predictions: bytes

    def upload(self, content: bytes | None = None, name: str = "predictions.csv"):
        return self.client.post(
            f"/api/v1/tasks/{self.task.slug}/submissions/",
            {"file": SimpleUploadedFile(name, content or self.predictions)},
            format="multipart",
        )


def make_setup(folder: Path, *, challenge: Challenge | None = None, **challenge_fields) -> Setup:
    """A task imported from a bundle, a participant in a team, and a valid prediction file."""
    challenge = challenge or ChallengeFactory(**{"daily_submission_limit": 50, **challenge_fields})
    slug = f"rel-{challenge.slug}"
    bundle = write_classification_bundle(folder / "bundle", rows=60, task={"slug": slug})
    task = task_import(source=bundle, challenge_slug=challenge.slug, track_slug=slug)
    user = UserFactory()
    team = TeamFactory(challenge=challenge)
    add_member(team, user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
    test_ids = [f"t{i:04d}" for i in range(task.test_rows)]
    classes = list(task.classes)
    rows = "".join(f"{i},{classes[n % len(classes)]}\n" for n, i in enumerate(test_ids))
    return Setup(task=task, client=client, user=user, predictions=f"id,label\n{rows}".encode())
