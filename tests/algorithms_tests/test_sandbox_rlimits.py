"""The rlimit-only path, for real: the backend run by a non-root user (uid 65534), who may
write no cgroup and mount nothing, as a production worker in the image runs. The limits it
keeps: RLIMIT_AS per process, RLIMIT_NPROC, and the sandbox's own tmpfs mounts for
/output, /tmp and /dev/shm (bwrap mounts them; the kernel counts their blocks); the seccomp
filter is the same as on every path.

The user runs Debian's own Python 3 (the sandbox package needs only the standard library
and the seccomp binding, a single file put on its path here, and the hostile scripts too):
the project's interpreter lives under a folder only root may enter on this host."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyseccomp
import pytest

from tests.algorithms_tests import hostile
from tests.algorithms_tests.hostcheck import allocated_bytes

pytestmark = [
    pytest.mark.host_wide,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root"),
    pytest.mark.skipif(
        not Path("/usr/bin/python3").exists(), reason="needs Debian's python3 for the user"
    ),
]

NOBODY = 65534
SYSTEM_PYTHON = Path("/usr/bin/python3")
REPO = Path(__file__).resolve().parents[2]
RUNNER = """
import dataclasses, json, sys
from pathlib import Path
from algorithms.sandbox.base import SandboxJob, SandboxLimits
from algorithms.sandbox.bubblewrap import BubblewrapBackend
root, limits = Path(sys.argv[1]), SandboxLimits(**json.loads(sys.argv[2]))
job = SandboxJob(code_dir=root / "code", entrypoint="main.py", task_dir=root / "task",
                 output_dir=root / "out", limits=limits)
print(json.dumps(dataclasses.asdict(BubblewrapBackend().run(job))))
"""
LIMITS = {
    "wall_seconds": 60,
    "cpu_seconds": 10,
    "memory_mb": 1024,
    "processes": 4096,  # RLIMIT_NPROC counts every process of the uid on the host
    "output_mb": 40,
    "tmp_mb": 40,
    "log_mb": 5,
}


@pytest.fixture
def root() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="sandbox-nobody-"))
    os.chmod(folder, 0o777)
    for part in ("code", "task", "lib"):  # readable by the user whatever root's umask (CI: 077)
        (folder / part).mkdir()
        os.chmod(folder / part, 0o755)
    binding = folder / "lib" / "pyseccomp.py"
    shutil.copyfile(pyseccomp.__file__, binding)
    os.chmod(binding, 0o644)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def run_as_nobody(root: Path, script: str) -> dict:
    (root / "code" / "main.py").write_text(script)
    os.chmod(root / "code" / "main.py", 0o644)

    def drop() -> None:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    done = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", RUNNER, str(root), json.dumps(LIMITS)],
        preexec_fn=drop,
        env={"PATH": "/usr/bin:/bin", "HOME": str(root), "PYTHONPATH": f"{REPO}:{root}/lib"},
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_a_non_root_worker_runs_on_rlimits_and_the_sandbox_s_own_tmpfs(root: Path) -> None:
    result = run_as_nobody(root, "print('hello')\n")
    assert result["ok"], result["message"]
    how = result["enforcement"]
    assert how["memory_mb"].startswith("RLIMIT_AS per process")
    assert how["processes"].startswith("RLIMIT_NPROC")
    assert how["output_mb"].startswith("a tmpfs of its own")
    assert how["host_uid"] == f"the worker's own (uid {NOBODY})"


def test_fallocate_reserves_nothing_past_the_caps(root: Path) -> None:
    """/output, /tmp and /dev/shm are tmpfs mounts with a size on this path too: the kernel
    counts fallocate's blocks and refuses them past the cap."""
    result = run_as_nobody(root, hostile.FALLOCATE)
    assert result["ok"], result["message"]
    for folder in ("/output", "/tmp", "/dev/shm"):
        line = next(x for x in result["log_tail"].splitlines() if f" {folder} " in x)
        assert "No space left on device" in line, line
        assert int(line.split()[-2]) <= 40, line
    if "X32" in result["log_tail"]:  # another ABI's syscall number gets past no filter
        assert "X32 Function not implemented" in result["log_tail"]
    assert allocated_bytes(root / "out") < 40 * 1024 * 1024


def test_writing_past_the_output_cap_is_stopped(root: Path) -> None:
    result = run_as_nobody(root, hostile.FILL_DISK)
    assert not result["ok"] and result["limit_hit"] == "output_mb", result["message"]
    assert "output size limit (40 MiB)" in result["message"]


def test_a_memory_bomb_hits_the_address_space_limit(root: Path) -> None:
    result = run_as_nobody(root, hostile.MEMORY_BOMB)
    assert not result["ok"] and result["limit_hit"] == "memory_mb"
    assert "memory limit (1024 MiB)" in result["message"]
