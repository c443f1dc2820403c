"""The sandbox's launcher (algorithms.sandbox.launcher): started before its run, in the run's
cgroups while the worker claims and stages, and gone without a trace when no run follows.

Real parts: bubblewrap, this host's cgroups (v1 here; the tests that need a writable cgroup
say so when they skip), real processes and descriptors.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from algorithms.models import AlgorithmRun
from algorithms.sandbox.base import SandboxJob, SandboxUnavailable
from algorithms.sandbox.bubblewrap import BubblewrapBackend
from algorithms.sandbox.cgroups import host_cgroups
from algorithms.services.execute import algorithm_run_execute
from algorithms.services.profiles import TEAM, served_with

from .sandbox_helpers import SMALL, descriptors, run_cgroups_of

CGROUPS = pytest.mark.skipif(
    host_cgroups() is None, reason="needs a cgroup this worker may write (root on the CI host)"
)


def _job(tmp_path: Path, script: str) -> SandboxJob:
    code, task = tmp_path / "code", tmp_path / "task"
    code.mkdir()
    task.mkdir()
    (code / "main.py").write_text(script)
    return SandboxJob(
        code_dir=code, entrypoint="main.py", task_dir=task, output_dir=tmp_path / "out",
        limits=SMALL,
    )  # fmt: skip




def _gone(pid: int, seconds: float = 10.0) -> bool:
    """``pid`` has ended (gone, or a zombie no one reaped yet) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.02)
    return False




def _children() -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found |= {int(pid) for pid in (task / "children").read_text().split()}
    return found


@CGROUPS
def test_a_prepared_launcher_waits_in_the_runs_cgroups_and_a_discard_leaves_nothing() -> None:
    before_fds, before_children = descriptors(), _children()
    prepared = BubblewrapBackend().prepare()
    pid = prepared.launcher.process.pid
    cgroup = prepared.launcher.cgroup
    folders = set(cgroup.made.values())
    deadline = time.monotonic() + 10
    while not all(str(pid) in (f / "cgroup.procs").read_text().split() for f in folders):
        assert time.monotonic() < deadline, "the launcher never joined the run's cgroups"
        time.sleep(0.01)
    assert cgroup.controllers == set()  # nothing limited before the run is known

    prepared.discard()
    prepared.discard()  # again: nothing more to do
    assert _gone(pid)
    assert not any(folder.exists() for folder in folders)
    assert descriptors() == before_fds
    assert _children() == before_children


def test_a_run_from_a_prepared_launcher_is_the_launchers_process(tmp_path: Path) -> None:
    backend = BubblewrapBackend()
    prepared = backend.prepare()
    pid = prepared.launcher.process.pid
    before_fds = descriptors()
    job = _job(tmp_path, "import os\nprint('uid', os.getuid(), 'pid', os.getpid())\n")
    result = backend.run(job, prepared=prepared)
    assert result.ok, result.log_tail
    assert result.pid == pid  # the launcher became bwrap: the worker's own child, reaped
    assert "uid 65534 pid 1" in result.log_tail
    assert not run_cgroups_of()
    assert descriptors() <= before_fds


def test_the_limits_reach_the_program_through_the_launcher(tmp_path: Path) -> None:
    """The rlimits the launcher sets before it becomes bwrap hold in the program."""
    script = textwrap.dedent(
        """
        import resource
        print("fsize", resource.getrlimit(resource.RLIMIT_FSIZE)[0])
        print("core", resource.getrlimit(resource.RLIMIT_CORE)[0])
        """
    )
    result = BubblewrapBackend().run(_job(tmp_path, script))
    assert result.ok, result.log_tail
    assert f"fsize {SMALL.output_mb * 1024 * 1024}" in result.log_tail
    assert "core 0" in result.log_tail


def test_a_launcher_that_cannot_execute_bwrap_says_why_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    before_fds, before_children = descriptors(), _children()
    backend = BubblewrapBackend(bwrap=str(tmp_path / "no-such-bwrap"))
    with pytest.raises(SandboxUnavailable, match="could not be prepared: FileNotFoundError"):
        backend.run(_job(tmp_path, "print('never')\n"))
    assert descriptors() == before_fds
    assert _children() == before_children
    assert not run_cgroups_of()


def test_a_worker_killed_while_its_launcher_waits_leaves_no_launcher(tmp_path: Path) -> None:
    """The launcher dies with the worker that started it (``PR_SET_PDEATHSIG``): a worker
    killed between the message and the claim strands no process."""
    script = textwrap.dedent(
        """
        import os, signal
        from algorithms.sandbox.bubblewrap import BubblewrapBackend
        prepared = BubblewrapBackend().prepare()
        print(prepared.launcher.process.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert _gone(int(done.stdout.split()[0]))


@pytest.mark.django_db(transaction=True)
def test_a_message_with_no_run_to_claim_discards_its_launcher() -> None:
    before_fds, before_children = descriptors(), _children()
    assert not AlgorithmRun.objects.exists()
    assert algorithm_run_execute(served=served_with(profile=TEAM), worker="test") == "skipped"
    assert descriptors() == before_fds
    assert _children() == before_children
    assert not run_cgroups_of()
