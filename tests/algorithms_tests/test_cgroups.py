"""The run's cgroups (algorithms.sandbox.cgroups): which layout a host offers, what a run's
cgroup writes and reads, and the stale ones a killed worker leaves.

This host is cgroup v1 (memory, pids, cpu, cpuacct) with an empty cgroup2 mount, so cgroup
v2's controllers cannot be tested for real here: the v2 tests run against a fake cgroup
folder (plain files where the kernel would put its interface files) and say so."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from algorithms.sandbox.bubblewrap import BubblewrapBackend
from algorithms.sandbox.cgroups import (
    CONTROLLERS,
    PREFIX,
    STALE_SECONDS,
    CgroupHost,
    RunCgroup,
    discover,
    host_cgroups,
    remove_stale,
)
from tests.algorithms_tests import hostile
from tests.algorithms_tests.sandbox_helpers import run


def fake_cgroup(folder: Path, *, delegates: str = "") -> Path:
    """A folder shaped like a cgroup (fake: no kernel behind the files)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cgroup.procs").write_text("")
    (folder / "cgroup.subtree_control").write_text(delegates)
    return folder


def v2_mountinfo(point: Path) -> str:
    escaped = str(point).replace(" ", "\\040")
    return f"30 23 0:26 / {escaped} rw,nosuid,nodev,relatime - cgroup2 cgroup2 rw\n"


def test_v2_runs_go_under_the_nearest_cgroup_that_delegates_memory_and_pids(tmp_path):
    """Fake v2 tree: the worker sits in /workers/w1, /workers delegates; a mount point with
    a space (escaped in mountinfo)."""
    root = fake_cgroup(tmp_path / "cgroup fs", delegates="cpuset cpu io memory pids")
    workers = fake_cgroup(root / "workers", delegates="memory pids cpu")
    fake_cgroup(workers / "w1")
    host = discover(mountinfo=v2_mountinfo(root), membership="0::/workers/w1\n")
    assert host == CgroupHost(2, {name: workers for name in CONTROLLERS})


def test_v2_without_delegation_and_no_v1_means_rlimits(tmp_path):
    root = fake_cgroup(tmp_path / "cgroup", delegates="")
    fake_cgroup(root / "w1")
    assert discover(mountinfo=v2_mountinfo(root), membership="0::/w1\n") is None


def test_a_hybrid_host_uses_its_v1_controllers(tmp_path):
    """This host's shape: v1 per controller, the memory one nested (the worker's own
    cgroup), an empty cgroup2 mount beside them."""
    lines = [v2_mountinfo(fake_cgroup(tmp_path / "unified"))]
    for index, name in enumerate(("memory", "pids", "cpu", "cpuacct")):
        fake_cgroup(tmp_path / name)
        lines.append(
            f"{35 + index} 31 0:{40 + index} / {tmp_path / name} rw - cgroup cgroup rw,{name}\n"
        )
    own = fake_cgroup(tmp_path / "memory" / "process_api" / "abc")
    membership = "4:memory:/process_api/abc\n8:pids:/\n1:cpu:/\n2:cpuacct:/\n0::/\n"
    host = discover(mountinfo="".join(lines), membership=membership)
    assert host is not None and host.version == 1
    assert host.parents == {
        "memory": own,
        "pids": tmp_path / "pids",
        "cpu": tmp_path / "cpu",
        "cpuacct": tmp_path / "cpuacct",
    }


@pytest.fixture
def fake_v2(tmp_path: Path):
    """A fake v2 parent that delegates memory, pids and cpu (no kernel: see the module)."""
    parent = fake_cgroup(tmp_path / "delegated", delegates="memory pids cpu")
    yield CgroupHost(2, {name: parent for name in CONTROLLERS}), parent
    shutil.rmtree(parent, ignore_errors=True)


def test_a_v2_run_cgroup_writes_its_limits_and_reads_its_events(fake_v2) -> None:
    host, parent = fake_v2
    cgroup = RunCgroup(host, memory_bytes=512 << 20, processes=64, cpus=2)
    (folder,) = set(cgroup.folders.values())
    assert folder.parent == parent and folder.name.startswith(f"{PREFIX}{os.getpid()}-")
    assert (folder / "memory.max").read_text() == str(512 << 20)
    assert (folder / "pids.max").read_text() == "64"
    assert (folder / "cpu.max").read_text() == "200000 100000"
    assert cgroup.controllers == {"memory", "pids", "cpu", "cpuacct"}
    assert cgroup.oom_kills() == 0 and not cgroup.processes_hit()
    (folder / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\n")
    (folder / "pids.events").write_text("max 1\n")
    (folder / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n")
    (folder / "memory.stat").write_text("anon 1000\nfile 99999\nshmem 24\n")
    assert cgroup.oom_kills() == 2 and cgroup.processes_hit()
    assert cgroup.cpu_seconds() == 2.5
    assert cgroup.memory_bytes() == 1024  # anon + tmpfs pages; the page cache is not held


def test_an_oom_kill_in_a_v2_cgroup_stops_the_run_naming_the_memory_limit(
    fake_v2, tmp_path: Path
) -> None:
    """The real sandbox with the fake v2 folder: the backend's watch reads memory.events
    (written here, as the kernel would on an OOM kill) and stops the run."""
    host, parent = fake_v2

    def oom_when_started() -> None:
        for _ in range(600):
            for folder in parent.glob(f"{PREFIX}*"):
                procs = folder / "cgroup.procs"
                if procs.exists() and procs.read_text().strip():  # the run joined
                    time.sleep(0.5)
                    (folder / "memory.events").write_text("oom 1\noom_kill 1\n")
                    return
            time.sleep(0.05)

    writer = threading.Thread(target=oom_when_started, daemon=True)
    writer.start()
    result = run(tmp_path, hostile.SLEEPER, backend=BubblewrapBackend(cgroups=lambda: host))
    writer.join(timeout=5)
    assert not result.ok and result.limit_hit == "memory_mb"
    assert result.message == "stopped: the algorithm hit the memory limit (1024 MiB)"
    assert result.enforcement["memory_mb"].startswith("cgroup v2 memory")


def test_stale_run_cgroups_of_dead_workers_are_removed(tmp_path: Path) -> None:
    parent = fake_cgroup(tmp_path / "parent")
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = parent / f"{PREFIX}{gone.pid}-0123456789ab"
    young = parent / f"{PREFIX}{os.getpid()}-0123456789ab"
    old = parent / f"{PREFIX}0123456789ab"  # the previous naming, no owner
    for folder in (dead, young, old):
        folder.mkdir()
    long_ago = time.time() - STALE_SECONDS - 60
    os.utime(old, (long_ago, long_ago))
    assert sorted(remove_stale(parent)) == sorted([dead, old])
    assert young.exists() and not dead.exists() and not old.exists()


@pytest.mark.skipif(
    os.geteuid() != 0 or host_cgroups() is None or host_cgroups().version != 1,
    reason="needs this CI host's writable cgroup v1 controllers",
)
def test_a_v1_run_cgroup_on_this_host_is_limited_and_removed() -> None:
    host = host_cgroups()
    cgroup = RunCgroup(host, memory_bytes=300 << 20, processes=32)
    try:
        memory, pids = cgroup.folders["memory"], cgroup.folders["pids"]
        assert int((memory / "memory.limit_in_bytes").read_text()) == 300 << 20
        assert (pids / "pids.max").read_text().strip() == "32"
        assert cgroup.cpu_seconds() == 0.0 and cgroup.oom_kills() == 0
    finally:
        cgroup.remove()
    assert not memory.exists() and not pids.exists()
