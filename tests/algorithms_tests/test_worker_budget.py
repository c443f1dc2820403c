"""Issue 24's holes through the API, a real Redis, the real algorithms worker and the real
sandbox: a FIFO output (and a cancel of a run blocked on one), a Parquet dictionary bomb,
a process tree's memory with /tmp and /dev/shm, fallocate, and an attack on the init after
a clean exit. Each is contained with the named message, the worker then runs an honest
algorithm to a scored submission, and the host's memory and disk are back where they were.
"""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from algorithms.services.output import INVALID
from scoring.core import SubmissionInvalid, read_submission_file
from testkit.archives import HONEST_MAIN
from tests.algorithms_tests import hostile
from tests.algorithms_tests.hostcheck import (
    MIB,
    allocated_bytes,
    left_cgroups,
    output_mounts,
    shmem_bytes,
)
from tests.algorithms_tests.output_helpers import dictionary_bomb
from tests.algorithms_tests.worker_helpers import (
    assert_worker_survives,
    run_hostile,
    start_running,
    wait_run,
)
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.host_wide, pytest.mark.celery_worker, pytest.mark.slow]


def worker_processes(worker) -> list[psutil.Process]:
    main = psutil.Process(worker.process.pid)
    return [main, *main.children(recursive=True)]


def peak_rss(worker) -> int:
    """The largest resident set any process of the worker ever had (VmHWM)."""
    peak = 0
    for process in worker_processes(worker):
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) * 1024)
    return peak


class HostBefore:
    """The host's tmpfs memory and the staging folder's disk before a hostile run."""

    def __init__(self, settings) -> None:
        self.staging = Path(settings.DATA_DIR) / "staging"
        self.shmem = shmem_bytes()
        self.disk = allocated_bytes(self.staging)

    def assert_back(self, worker) -> None:
        for process in worker_processes(worker):
            # The spare start made after the run (record 0065) is not the run's: it is left
            # out; a spare being made holds no launcher for a moment, so this waits a little.
            wait_for(
                lambda pid=process.pid: left_cgroups(pid) == [],
                timeout=10,
                what="the run's cgroups removed (a run cgroup was left behind)",
            )
            assert output_mounts(process.pid) == [], "an output tmpfs was left mounted"
        assert shmem_bytes() - self.shmem < 64 * MIB
        assert allocated_bytes(self.staging) - self.disk < 4 * MIB


def test_a_fifo_output_fails_at_once_naming_it(world, algorithms_worker, settings):
    host = HostBefore(settings)
    body = run_hostile(world, algorithms_worker, hostile.FIFO_OUTPUT)
    assert body["status"] == "failed", body
    assert body["error"] == "/output/predictions.csv is a named pipe (FIFO), not a regular file"
    assert body["submission"] is None
    host.assert_back(algorithms_worker)
    assert_worker_survives(world, algorithms_worker)


def test_cancel_frees_the_worker_from_a_run_blocked_on_its_fifo(world, algorithms_worker):
    client = world.participant.api()
    run = start_running(world, algorithms_worker, hostile.FIFO_BLOCKS)
    time.sleep(2)  # let it reach the open() that blocks
    assert client.post(f"/api/v1/algorithm-runs/{run['id']}/cancel/").status_code == 200
    body = wait_run(client, run["id"], algorithms_worker)
    assert body["status"] == "cancelled" and body["submission"] is None
    assert body["seconds"] < 30  # the wall clock (60 s) did not end it
    assert_worker_survives(world, algorithms_worker)


def test_a_dictionary_bomb_fails_with_the_readers_words_outside_the_worker(
    world, algorithms_worker, settings, tmp_path
):
    host = HostBefore(settings)
    body = run_hostile(world, algorithms_worker, hostile.DICTIONARY_BOMB)
    assert body["status"] == "failed", body
    same = tmp_path / "bomb.parquet"
    dictionary_bomb(same)  # the file the script writes; the reader refuses it early
    with pytest.raises(SubmissionInvalid) as refused:
        read_submission_file(
            str(same),
            max_bytes=settings.SUBMISSION_MAX_BYTES,
            test_rows=world.classification.test_rows,
        )
    assert body["error"] == INVALID + refused.value.message
    assert "unpack to more than" in body["error"]
    assert peak_rss(algorithms_worker) < 1024 * MIB  # 3 GiB decoded: it never got here
    host.assert_back(algorithms_worker)
    assert_worker_survives(world, algorithms_worker)


def test_the_memory_of_a_process_tree_with_tmp_and_shm_is_one_budget(
    world, algorithms_worker, settings
):
    settings.ALGORITHM_MEMORY_MB = 700
    settings.ALGORITHM_TMP_MB = 256
    settings.ALGORITHM_WALL_SECONDS = 120
    host = HostBefore(settings)
    body = run_hostile(world, algorithms_worker, hostile.TREE_MEMORY)
    assert body["status"] == "failed", body
    assert "the memory limit (700 MiB)" in body["error"], body["error"]
    assert "FILLED /tmp/fill" in body["log"] and body["log"].count("CHILD HOLDS") == 3
    host.assert_back(algorithms_worker)
    settings.ALGORITHM_MEMORY_MB = 1024
    settings.ALGORITHM_TMP_MB = 40
    settings.ALGORITHM_WALL_SECONDS = 60
    assert_worker_survives(world, algorithms_worker)


def test_fallocate_reserves_no_disk_past_the_caps(world, algorithms_worker, settings):
    host = HostBefore(settings)
    body = run_hostile(world, algorithms_worker, hostile.FALLOCATE)
    assert body["status"] == "failed", body
    assert "without writing /output/predictions.csv" in body["error"]
    for folder in ("/output", "/tmp", "/dev/shm"):
        line = next(x for x in body["log"].splitlines() if x.startswith(f"FALLOCATE {folder} "))
        assert int(line.split()[-2]) <= 40, line  # MiB reserved, against 40 MiB caps
    host.assert_back(algorithms_worker)
    assert_worker_survives(world, algorithms_worker)


def test_a_clean_exit_succeeds_whatever_happens_to_the_init(world, algorithms_worker):
    script = hostile.INIT_ATTACK.format(exit_code=0, work=HONEST_MAIN)
    body = run_hostile(world, algorithms_worker, script)
    assert body["status"] == "succeeded", body
    assert "PROGRAM PID 1 EXITS 0" in body["log"] and "HELPER STAYS" in body["log"]
    assert body["seconds"] < 30  # not held to the wall clock (60 s)
    assert_worker_survives(world, algorithms_worker)
