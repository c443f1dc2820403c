"""One budget per run, through the real sandbox on this host's path (root: cgroups and a
tmpfs /output), with hostile scripts: fallocate, a sparse output, the memory of a whole
process tree with /tmp and /dev/shm, an attack on the sandbox's init, a FIFO output, and a
worker killed mid-run. Each run is contained, names the limit, and the host's memory and
disk are back where they were."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from algorithms.sandbox.base import SandboxLimits
from algorithms.sandbox.cgroups import host_cgroups
from tests.algorithms_tests import hostile
from tests.algorithms_tests.hostcheck import (
    MIB,
    allocated_bytes,
    host_mount_points,
    output_mounts,
    run_cgroups,
    shmem_bytes,
)
from tests.algorithms_tests.sandbox_helpers import SMALL, run
from tests.support.waiting import wait_for

pytestmark = [
    pytest.mark.host_wide,
    pytest.mark.slow,
    pytest.mark.skipif(
        os.geteuid() != 0 or host_cgroups() is None,
        reason="the cgroup and tmpfs path needs a root worker with writable cgroups "
        "(test_sandbox_rlimits.py covers the other path)",
    ),
]


def limits(**changes: int) -> SandboxLimits:
    return SandboxLimits(**{**SMALL.as_dict(), **changes})


def test_this_host_enforces_the_budget_with_cgroups_and_a_tmpfs_output(tmp_path: Path) -> None:
    result = run(tmp_path, "print('hello')\n")
    assert result.ok, result.message
    how = result.enforcement
    assert how["memory_mb"].startswith("cgroup v") and "/dev/shm" in how["memory_mb"]
    assert how["processes"].endswith("pids")
    assert how["cpu_seconds"].endswith("CPU time of the tree")
    assert how["output_mb"].startswith("a tmpfs of its own")


def test_fallocate_reserves_nothing_past_the_caps(tmp_path: Path) -> None:
    shmem = shmem_bytes()
    result = run(tmp_path, hostile.FALLOCATE)
    assert result.ok, result.message
    for folder in ("/output", "/tmp", "/dev/shm"):
        line = next(x for x in result.log_tail.splitlines() if x.startswith(f"FALLOCATE {folder} "))
        assert "No space left on device" in line, line
        assert int(line.split()[-2]) <= 40, line
    assert allocated_bytes(tmp_path / "out") < 40 * MIB
    assert output_mounts(os.getpid()) == [] and run_cgroups(os.getpid()) == []
    assert shmem_bytes() - shmem < 64 * MIB


def test_sparse_files_past_the_cap_are_stopped_not_copied(tmp_path: Path) -> None:
    result = run(tmp_path, hostile.SPARSE_OUTPUT)
    assert not result.ok and result.limit_hit == "output_mb"
    assert "output size limit (40 MiB)" in result.message
    assert allocated_bytes(tmp_path / "out") <= 40 * MIB


def test_memory_of_the_whole_tree_with_tmp_and_shm_is_one_budget(tmp_path: Path) -> None:
    """3 x 150 MB in children + 150 MB /tmp + 150 MB /dev/shm against 700 MiB: each process
    alone is far below the limit (per-process rlimits let this take 750 MB and more)."""
    shmem = shmem_bytes()
    budget = limits(memory_mb=700, tmp_mb=256, wall_seconds=300)
    result = run(tmp_path, hostile.TREE_MEMORY, budget)
    assert not result.ok and result.limit_hit == "memory_mb", result.log_tail
    assert "the memory limit (700 MiB)" in result.message
    assert result.log_tail.count("CHILD HOLDS 150 MB") == 3
    assert "FILLED /tmp/fill" in result.log_tail  # its pages count: the run was stopped later
    assert result.peak_memory_mb <= 700 + 32
    assert run_cgroups(os.getpid()) == [] and output_mounts(os.getpid()) == []
    assert shmem_bytes() - shmem < 64 * MIB  # /tmp and /dev/shm went with the sandbox


@pytest.mark.parametrize("exit_code", [0, 3])
def test_the_status_is_the_programs_even_when_the_init_is_attacked(
    tmp_path: Path, exit_code: int
) -> None:
    """A helper stops, kills or ptraces every other process it can see, then stays; the
    program exits. bwrap's own init used to be one of them: a stopped init never reported
    the exit, and a finished run was held to the wall clock."""
    script = hostile.INIT_ATTACK.format(exit_code=exit_code, work=hostile.WRITE_HEADER_ONLY)
    result = run(tmp_path, script, limits(wall_seconds=120))
    assert result.limit_hit is None, result.message
    assert result.exit_code == exit_code
    assert result.ok is (exit_code == 0)
    assert f"PROGRAM PID 1 EXITS {exit_code}" in result.log_tail  # no init: the program is 1
    if exit_code:
        assert result.message == "the algorithm exited with code 3: PROGRAM PID 1 EXITS 3"
    assert (tmp_path / "out" / "predictions.csv").read_text() == "id,label\n"


def test_a_fifo_output_reaches_the_reader_as_a_fifo(tmp_path: Path) -> None:
    result = run(tmp_path, hostile.FIFO_OUTPUT)
    assert result.ok, result.message
    assert stat.S_ISFIFO((tmp_path / "out" / "predictions.csv").lstat().st_mode)


def test_a_cancel_frees_a_run_blocked_on_its_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "out" / "predictions.csv"
    script, budget = hostile.FIFO_BLOCKS, limits(wall_seconds=300)
    result = run(tmp_path, script, budget, should_stop=lambda: fifo.exists())
    assert result.cancelled and result.message == "cancelled"
    assert "WAITING FOR A READER" in result.log_tail
    assert run_cgroups(os.getpid()) == [] and output_mounts(os.getpid()) == []


KILLED_WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from algorithms.sandbox.base import SandboxJob, SandboxLimits
    from algorithms.sandbox.bubblewrap import BubblewrapBackend
    root = Path(sys.argv[1])
    job = SandboxJob(
        code_dir=root / "code", entrypoint="main.py", task_dir=root / "task",
        output_dir=root / "out", limits=SandboxLimits(wall_seconds=600, output_mb=40),
    )
    BubblewrapBackend().run(job)
    """
)


def test_a_killed_worker_leaves_no_mount_or_memory_and_its_cgroup_goes_next(
    tmp_path: Path,
) -> None:
    """The output tmpfs lives inside the sandbox: a worker killed mid-run leaves no mount on
    the host and its pages go with the sandbox; the cgroup it made is removed by the next
    run on the host."""
    (tmp_path / "code").mkdir()
    (tmp_path / "task").mkdir()
    (tmp_path / "code" / "main.py").write_text(
        "open('/output/held', 'wb').write(b'x' * (30 << 20))\n" + hostile.SLEEPER
    )
    points, shmem = host_mount_points(), shmem_bytes()
    worker = subprocess.Popen([sys.executable, "-c", KILLED_WORKER, str(tmp_path)])
    try:
        wait_for(
            lambda: (
                (tmp_path / "out" / "held").exists()  # the live view of the run's /output
                and (tmp_path / "out" / "held").stat().st_size == 30 << 20
            ),
            timeout=60,
            what="the run to start",
        )
        assert run_cgroups(worker.pid) and host_mount_points() == points
    finally:
        worker.send_signal(signal.SIGKILL)  # a crash: nothing of the worker cleans up
        worker.wait()
    wait_for(lambda: not run_processes(worker.pid), timeout=30, what="the sandbox to die")
    assert host_mount_points() == points and output_mounts(worker.pid) == []
    freed = lambda: shmem_bytes() - shmem < 16 * MIB  # noqa: E731
    wait_for(freed, timeout=30, what="the 30 MiB of /output to go with the sandbox")
    assert run_cgroups(worker.pid)  # left behind...
    (tmp_path / "next").mkdir()
    result = run(tmp_path / "next", "print('next')\n")  # ...until the next run on the host
    assert result.ok, result.message
    assert run_cgroups(worker.pid) == []
    assert not (tmp_path / "out" / "held").exists()


def run_processes(owner: int) -> list[int]:
    """The live processes of the run cgroups of worker ``owner``."""
    found = []
    for folder in run_cgroups(owner):
        procs = (folder / "cgroup.procs").read_text().split()
        found += [int(pid) for pid in procs if Path(f"/proc/{pid}").exists()]
    return found


CPU_HOG = """
import multiprocessing, time

def burn(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass

if __name__ == "__main__":
    workers = [multiprocessing.Process(target=burn, args=(2.0,)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
"""


def test_a_cpu_cap_is_a_quota_of_the_whole_tree(tmp_path: Path) -> None:
    """``ALGORITHM_CPUS`` (SandboxLimits.cpus): three busy processes share one core's quota:
    the tree's CPU time stays within its wall time (a quota only lowers it under load)."""
    result = run(tmp_path, CPU_HOG, limits=limits(cpus=1, cpu_seconds=60, wall_seconds=60))
    assert result.ok, result.message
    assert result.enforcement["cpus"].endswith("CPU quota")
    assert result.cpu_seconds <= result.seconds * 1.2 + 0.5, (
        result.cpu_seconds,
        result.seconds,
    )


def test_the_cpu_setting_reaches_every_run(settings) -> None:
    from algorithms.services.common import sandbox_limits

    settings.ALGORITHM_CPUS = 1
    assert sandbox_limits().cpus == 1
