"""Fixtures of the baseline tests: tiny imported tasks, a flushed broker, polling helpers.

The baseline is an algorithm run of the baseline profile (``algorithms.services.profiles``);
these tests are that profile's: its queueing, console, command and real runs."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest
from django.contrib.auth import get_user_model

from algorithms.models import AlgorithmRun, BaselineRun
from algorithms.services.builtin import baseline_algorithm_version
from algorithms.services.profiles import BASELINE
from tests.scoring_tests.factories import ChallengeFactory, imported_task
from tests.support.browser import browser, browser_page  # noqa: F401
from tests.support.waiting import wait_for  # noqa: F401 - this folder's tests import it

# The sandbox runs the baseline algorithm's entrypoint as /code/main.py.
ENTRYPOINT = "/code/main.py"


def live_group_members(pgid: int) -> list[int]:
    """Pids of the processes in group ``pgid`` that are not zombies (Linux ``/proc``)."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue  # exited meanwhile
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) >= 3 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            members.append(int(entry.name))
    return members


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


def run_state(pk: int) -> AlgorithmRun:
    return BaselineRun.objects.select_related("submission").get(pk=pk)


def make_run(task, **fields) -> AlgorithmRun:
    """A baseline run row of the built-in version, as ``baseline_run_queue`` makes one."""
    options = {"presets": "medium_quality", "time_limit": 30, "hard_timeout": 180}
    defaults = {
        "version": baseline_algorithm_version(challenge=task.track.challenge),
        "task": task,
        "options": options,
        "limits": BASELINE.limits(options=options).as_dict(),
    }
    return BaselineRun.objects.create(**{**defaults, **fields})


def runner_processes(root_pid: int) -> list[psutil.Process]:
    """The sandbox processes running the baseline below ``root_pid`` (a worker's main
    process): bwrap, its init and the algorithm, all named by their entrypoint."""
    try:
        children = psutil.Process(root_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for proc in children:
        try:
            command = " ".join(proc.cmdline())
            if ENTRYPOINT in command:
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
