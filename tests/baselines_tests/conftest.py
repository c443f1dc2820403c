"""Fixtures of the baseline tests: tiny imported tasks, a flushed broker, polling helpers."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
from django.contrib.auth import get_user_model

from scoring.baselines.launch import live_group_members
from scoring.baselines.models import BaselineRun
from tests.scoring_tests.factories import ChallengeFactory, imported_task
from tests.support.browser import browser, browser_page  # noqa: F401
from tests.support.delays import SLOW_RUNNER
from tests.support.waiting import wait_for  # noqa: F401 - this folder's tests import it

RUNNER_MODULE = "scoring.baselines.runner"


@pytest.fixture
def challenge():
    return ChallengeFactory()


@pytest.fixture
def classification_task(tmp_path: Path, challenge):
    """60 train rows: text, numeric, categorical (the colour gives the class away)."""
    return imported_task(tmp_path, kind="classification", challenge=challenge, rows=60)


@pytest.fixture
def matching_task(tmp_path: Path, challenge):
    """60 candidate pairs with name, price, brand and an image per side."""
    return imported_task(tmp_path, kind="matching", challenge=challenge, rows=60, images=True)


@pytest.fixture
def baseline_broker(redis_server, redis_client):
    """The session's Redis, flushed, so no earlier test's message reaches this test's worker."""
    redis_client.flushall()
    return redis_client


@pytest.fixture
def organizer(db):
    return get_user_model().objects.create_superuser("org", "org@example.com", "pw-for-tests")


def run_state(pk: int) -> BaselineRun:
    return BaselineRun.objects.select_related("submission").get(pk=pk)


def runner_processes(root_pid: int) -> list[psutil.Process]:
    """The baseline runner processes below ``root_pid`` (a worker's main process), the
    tests' slow runner (``tests.support.delays``) included."""
    try:
        children = psutil.Process(root_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for proc in children:
        try:
            command = " ".join(proc.cmdline())
            if RUNNER_MODULE in command or SLOW_RUNNER in command:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
    return found


def process_gone(pid: int) -> bool:
    """True when ``pid`` has exited (or is a zombie) and its process group is empty."""
    try:
        alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        alive = False
    return not alive and not live_group_members(pid)
