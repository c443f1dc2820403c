"""The host's memory budget across concurrent sandboxed runs (ALGORITHM_TOTAL_MEMORY_MB)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from algorithms.models import AlgorithmRun
from algorithms.sandbox.base import SandboxLimits
from algorithms.sandbox.bubblewrap import BubblewrapBackend
from algorithms.sandbox.cgroups import MEMORY, PIDS, CgroupHost, host_cgroups
from algorithms.sandbox.ledger import MemoryBudgetExceeded, MemoryLedger
from algorithms.services.execute import algorithm_run_execute
from testkit.archives import algorithm_zip
from tests.algorithms_tests.services_helpers import post_archive, queue


def test_a_second_run_waits_until_the_first_releases_its_memory(tmp_path: Path) -> None:
    ledger = MemoryLedger(tmp_path / "ledger", total_mb=100)
    released = threading.Event()
    entered: list[float] = []

    def first() -> None:
        with ledger.reserve(60) as room:
            assert room
            time.sleep(1.5)
        released.set()

    thread = threading.Thread(target=first)
    thread.start()
    time.sleep(0.3)
    assert ledger.reserved_mb() == 60
    with ledger.reserve(60) as room:  # 60 + 60 > 100: waits for the first
        entered.append(time.monotonic())
        assert room and released.is_set()
        assert ledger.reserved_mb() == 60
    thread.join()
    assert ledger.reserved_mb() == 0
    with ledger.reserve(40), ledger.reserve(60):  # both fit at once
        assert ledger.reserved_mb() == 100


def test_oversize_cancelled_and_dead_reservations(tmp_path: Path) -> None:
    ledger = MemoryLedger(tmp_path / "ledger", total_mb=100)
    with pytest.raises(MemoryBudgetExceeded, match="asks for 101 MB"), ledger.reserve(101):
        pass
    with ledger.reserve(90):
        with ledger.reserve(20, should_stop=lambda: True) as room:
            assert room is False  # cancelled while waiting; nothing reserved
        assert ledger.reserved_mb() == 90
    # A worker that died keeps no memory: its pid is gone.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    (tmp_path / "ledger" / f"{int(dead.stdout)}-abc").write_text("80")
    assert ledger.reserved_mb() == 0
    with MemoryLedger(tmp_path / "off", total_mb=0).reserve(10**9) as room:  # no total
        assert room


@pytest.mark.slow
def test_a_run_larger_than_the_host_total_fails_with_the_reason(world, broker, settings):
    settings.ALGORITHM_TOTAL_MEMORY_MB = 100  # below what the run reserves
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip()).json()
    (run,) = queue(client, algorithm["id"], tasks=[world.classification.slug]).json()["runs"]
    assert algorithm_run_execute(run_pk=run["id"]) == "failed"
    stored = AlgorithmRun.objects.get(pk=run["id"])
    assert "ALGORITHM_TOTAL_MEMORY_MB" in stored.error and "100 MB" in stored.error
    assert stored.submission is None


LIMITS = SandboxLimits(memory_mb=1000, tmp_mb=100, output_mb=50)


def test_a_run_reserves_its_tmpfs_mounts_where_no_memory_cgroup_holds_them(tmp_path) -> None:
    """Without a memory cgroup, memory_mb caps each process's address space and the tmpfs
    mounts (/tmp and /dev/shm of tmp_mb each, /output of output_mb) fill RAM besides: the
    reservation holds all of them. With one, memory_mb bounds the processes and the tmpfs
    pages together."""
    no_cgroup = BubblewrapBackend(cgroups=lambda: None)
    pids_only = BubblewrapBackend(cgroups=lambda: CgroupHost(1, {PIDS: tmp_path}))
    with_memory = BubblewrapBackend(cgroups=lambda: CgroupHost(1, {MEMORY: tmp_path}))
    assert no_cgroup.memory_reservation_mb(LIMITS) == 1000 + 100 + 100 + 50
    assert pids_only.memory_reservation_mb(LIMITS) == 1000 + 100 + 100 + 50
    assert with_memory.memory_reservation_mb(LIMITS) == 1000
    # Two runs whose memory and /tmp fit the total, but not with /dev/shm and /output: the
    # second waits (nothing here releases the first, so it is cancelled while it waits).
    ledger = MemoryLedger(tmp_path / "ledger", total_mb=2 * (1000 + 100))
    reserve = no_cgroup.memory_reservation_mb(LIMITS)
    with ledger.reserve(reserve) as first:
        assert first
        with ledger.reserve(reserve, should_stop=lambda: True) as second:
            assert second is False


@pytest.mark.slow
def test_the_run_s_reservation_counts_its_output_tmpfs_on_the_rlimit_path(
    world, broker, settings
):
    """The worker's ledger asks the backend: on the rlimit path (a pids cgroup, no memory
    one) a total that holds memory + /tmp but not the /dev/shm and /output tmpfs refuses the
    run before its sandbox starts, naming what it asked for."""
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip()).json()
    (run,) = queue(client, algorithm["id"], tasks=[world.classification.slug]).json()["runs"]
    limits = SandboxLimits.from_dict(AlgorithmRun.objects.get(pk=run["id"]).limits)
    settings.ALGORITHM_TOTAL_MEMORY_MB = limits.memory_mb + limits.tmp_mb
    host = host_cgroups()
    pids = {PIDS: host.parents[PIDS]} if host is not None and host.covers(PIDS) else {}
    backend = BubblewrapBackend(cgroups=lambda: CgroupHost(1, pids) if pids else None)
    assert algorithm_run_execute(run_pk=run["id"], backend=backend) == "failed"
    stored = AlgorithmRun.objects.get(pk=run["id"])
    wanted = limits.memory_mb + 2 * limits.tmp_mb + limits.output_mb
    assert f"asks for {wanted} MB" in stored.error and "/output" in stored.error
    assert stored.exit_code is None  # the sandbox never ran
