"""Helpers of test_sandbox.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from algorithms.sandbox.base import SandboxJob, SandboxLimits, SandboxResult
from algorithms.sandbox.bubblewrap import BubblewrapBackend
from tests.algorithms_tests.hostcheck import run_cgroups

SMALL = SandboxLimits(
    wall_seconds=60, cpu_seconds=10, memory_mb=1024, processes=48, output_mb=40, tmp_mb=40, log_mb=5
)


def run(
    tmp_path: Path,
    script: str,
    limits: SandboxLimits = SMALL,
    *,
    backend: BubblewrapBackend | None = None,
    should_stop: Callable[[], bool] | None = None,
    **files: str,
) -> SandboxResult:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "main.py").write_text(script)
    for name, text in files.items():
        (code / name).write_text(text)
    task = tmp_path / "task"
    task.mkdir(exist_ok=True)
    (task / "train.parquet").write_bytes(b"PAR1 public train rows")
    out = tmp_path / "out"
    job = SandboxJob(
        code_dir=code, entrypoint="main.py", task_dir=task, output_dir=out, limits=limits
    )
    return (backend or BubblewrapBackend()).run(job, should_stop=should_stop)




def descriptors() -> set[str]:
    """This process's pipes and memory files (what a launcher's start makes; a database or
    Redis connection opened meanwhile is not one)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(("pipe:", "/memfd:")):
            found.add(f"{fd} {target}")
    return found


def run_cgroups_of(pid: int | None = None) -> list[Path]:
    """The run cgroups the worker process ``pid`` (default: this one) made on this host."""
    return run_cgroups(os.getpid() if pid is None else pid)
