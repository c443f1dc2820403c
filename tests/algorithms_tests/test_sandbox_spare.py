"""A run's start kept ready between runs (algorithms.sandbox.spare): the next run is the kept
launcher's process, a launcher that died meanwhile or was made for another backend is never
used, nothing is kept where keeping is off or the worker stops, and a real pool process keeps
one after a run, uses it for the next, and leaves no process when the worker stops.

Real parts: bubblewrap, this host's cgroups (v1 here), real processes and descriptors, a
real Celery worker with Redis for the pool process.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from algorithms.models import AlgorithmRun
from algorithms.sandbox import spare
from algorithms.sandbox.base import SandboxJob
from algorithms.sandbox.bubblewrap import BubblewrapBackend
from algorithms.services.execute import algorithm_run_execute
from algorithms.services.profiles import TEAM, served_with
from testkit.archives import algorithm_zip
from tests.algorithms_tests.hostcheck import is_waiting_launcher
from tests.algorithms_tests.worker_helpers import start_runs, upload_algorithm, wait_run
from tests.support.waiting import wait_for

from .sandbox_helpers import SMALL, descriptors, run_cgroups_of


def _job(tmp_path: Path, name: str = "run") -> SandboxJob:
    code, task = tmp_path / name / "code", tmp_path / name / "task"
    code.mkdir(parents=True)
    task.mkdir()
    (code / "main.py").write_text("import os\nprint('pid', os.getpid())\n")
    return SandboxJob(
        code_dir=code, entrypoint="main.py", task_dir=task, output_dir=tmp_path / name / "out",
        limits=SMALL,
    )  # fmt: skip




def _children() -> set[int]:
    return {child.pid for child in psutil.Process().children() if child.status() != "zombie"}




@pytest.fixture
def keeping() -> Iterator[None]:
    """Spares kept in this process, as in a pool process; nothing kept afterwards."""
    spare.keep_spares(True)
    try:
        yield
    finally:
        spare.keep_spares(False)


def test_a_kept_start_is_the_next_runs_process_and_leaves_nothing(tmp_path, keeping) -> None:
    before_fds, before_children = descriptors(), _children()
    backend = BubblewrapBackend()
    spare.replenish(backend)
    assert spare.kept() is None  # made a moment after the run, not as it ends
    kept = spare.kept(wait=10)
    assert kept is not None and kept.usable()
    pid = kept.launcher.process.pid

    prepared = spare.take(backend)
    assert prepared is kept and spare.kept() is None
    result = backend.run(_job(tmp_path), prepared=prepared)
    assert result.ok, result.log_tail
    assert result.pid == pid  # the launcher kept since the last run became this run's bwrap
    spare.give_back(backend, prepared)  # consumed by the run: not kept again
    assert spare.kept() is None

    spare.replenish(backend)
    again = spare.kept(wait=10)
    assert again is not None and again.launcher.process.pid != pid
    spare.replenish(backend)  # one at a time
    assert spare.kept(wait=2 * spare.DELAY_SECONDS) is again

    spare.keep_spares(False)
    assert spare.kept() is None
    assert _children() == before_children
    assert descriptors() == before_fds
    assert not run_cgroups_of(os.getpid())


def test_a_spare_that_died_or_was_made_elsewhere_is_not_used(tmp_path, keeping) -> None:
    backend = BubblewrapBackend()
    spare.replenish(backend)
    dead = spare.kept(wait=10)
    os.kill(dead.launcher.process.pid, signal.SIGKILL)
    dead.launcher.process.wait()
    assert not dead.usable()
    prepared = spare.take(backend)
    assert prepared is not dead and prepared.usable()
    assert not any(folder.exists() for folder in dead.launcher.cgroup.made.values())
    result = backend.run(_job(tmp_path, "after-death"), prepared=prepared)
    assert result.ok, result.log_tail

    spare.replenish(backend)
    other = spare.kept(wait=10)
    elsewhere = BubblewrapBackend(sandbox_uid=65533)  # another sandbox user: not this start
    fresh = spare.take(elsewhere)
    assert fresh is not other and not other.launcher.waiting()
    spare.give_back(elsewhere, fresh)
    assert spare.kept() is fresh  # kept now for that backend


def test_nothing_is_kept_when_off_stopping_or_taken_before_it_was_made(keeping) -> None:
    before_children = _children()
    backend = BubblewrapBackend()
    spare.replenish(backend, stopping=True)
    assert spare.kept(wait=2 * spare.DELAY_SECONDS) is None
    spare.replenish(backend)
    taken = spare.take(backend)  # a message before the next start was made: that one's off
    assert spare.kept(wait=2 * spare.DELAY_SECONDS) is None
    spare.give_back(backend, taken)
    assert spare.kept() is taken
    spare.keep_spares(False)
    assert not taken.launcher.waiting()
    spare.replenish(backend)
    assert spare.kept(wait=2 * spare.DELAY_SECONDS) is None
    prepared = spare.take(backend)
    spare.give_back(backend, prepared)  # no run, keeping off: discarded
    assert spare.kept() is None and not prepared.launcher.waiting()
    assert _children() == before_children
    assert not run_cgroups_of(os.getpid())


@pytest.mark.django_db(transaction=True)
def test_a_message_with_no_run_keeps_the_spare_for_the_next(keeping) -> None:
    spare.replenish(BubblewrapBackend())
    kept = spare.kept(wait=10)
    assert not AlgorithmRun.objects.exists()
    assert algorithm_run_execute(served=served_with(profile=TEAM), worker="test") == "skipped"
    assert spare.kept() is kept and kept.usable()


# ------------------------------------------------------------------ a real pool process


def _launchers_of(worker_pid: int) -> list[psutil.Process]:
    """The launchers waiting under ``worker_pid``'s pool processes."""
    pool = {child.pid for child in psutil.Process(worker_pid).children()}
    found = []
    for process in psutil.process_iter(["cmdline", "ppid"]):
        command = process.info["cmdline"] or []
        if process.info["ppid"] in pool and is_waiting_launcher(command):
            found.append(process)
    return found


@pytest.mark.celery_worker
@pytest.mark.slow
def test_a_pool_process_keeps_the_next_runs_start_and_a_stop_leaves_none(
    world, broker, worker_factory
) -> None:
    worker = worker_factory(queues="algorithms,scoring", concurrency=1, name="algorithms")
    worker.wait_ready()
    client = world.participant.api()
    algorithm = upload_algorithm(client, world.challenge, algorithm_zip(name="Kept"))
    (first,) = start_runs(client, algorithm["id"], tasks=[world.classification.slug])
    assert wait_run(client, first["id"], worker)["status"] == "succeeded"
    (launcher,) = wait_for(
        lambda: _launchers_of(worker.process.pid), timeout=30, what="a kept launcher"
    )
    pool_pid = launcher.ppid()
    assert run_cgroups_of(pool_pid), "the kept launcher's cgroups"

    (second,) = start_runs(client, algorithm["id"], tasks=[world.matching.slug])
    assert wait_run(client, second["id"], worker)["status"] == "succeeded"
    assert AlgorithmRun.objects.get(pk=second["id"]).runner_pid == launcher.pid

    (latest,) = wait_for(
        lambda: [p for p in _launchers_of(worker.process.pid) if p.pid != launcher.pid],
        timeout=30,
        what="the next run's launcher",
    )

    worker.stop()
    deadline = time.monotonic() + 10
    while latest.is_running() and latest.status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "a launcher outlived its stopped worker"
        time.sleep(0.05)
    # Its cgroups: removed by its pool process as it exits, or (a pool process killed) by
    # the next start of any worker on the host.
    BubblewrapBackend().prepare().discard()
    assert not run_cgroups_of(pool_pid)
