"""The bubblewrap sandbox itself, with hostile scripts (no database, no worker).

The worker-level tests in ``test_worker.py`` run the same scripts as uploaded algorithms.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from algorithms.sandbox.base import SandboxLimits
from tests.algorithms_tests import hostile

from .sandbox_helpers import SMALL, run

pytestmark = pytest.mark.slow





def test_environment_holds_only_the_contract(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "worker-secret-123")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:db-password-456@h/db")
    result = run(tmp_path, hostile.ENV_SNOOP)
    assert result.ok, result.message
    leaked = result.log_tail + (tmp_path / "out" / "predictions.csv").read_text()
    assert "worker-secret-123" not in leaked and "db-password-456" not in leaked
    assert "TASK_DIR=/task" in leaked and "OUTPUT_DIR=/output" in leaked
    assert "SECRET_KEY" not in leaked and "DATABASE_URL" not in leaked
    assert "\x00" not in result.log_tail  # /proc/*/environ's separators, shown as \0


def test_filesystem_shows_only_task_code_output_and_runtime(tmp_path: Path) -> None:
    secret = tmp_path / "private"
    secret.mkdir()
    (secret / "solution.parquet").write_text("the labels")
    (secret / "db.sqlite3").write_text("the database")
    result = run(tmp_path, hostile.FILE_WALK)
    assert result.ok, result.message
    assert "the labels" not in result.log_tail and "the database" not in result.log_tail
    assert str(secret) not in result.log_tail
    root_line = next(line for line in result.log_tail.splitlines() if line.startswith("ROOT"))
    for name in ("code", "task", "output", "tmp", "usr"):
        assert f"'{name}'" in root_line
    for name in ("home", "var", "etc/passwd", "srv"):
        assert f"'{name}'" not in root_line


def test_no_network_not_even_the_hosts_loopback(tmp_path: Path) -> None:
    listeners = []
    for _ in range(3):  # stand-ins for the web server, Redis and PostgreSQL
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        listeners.append(server)
    ports = " ".join(str(s.getsockname()[1]) for s in listeners)
    try:
        result = run(tmp_path, hostile.NETWORK, **{"ports.txt": ports})
    finally:
        for server in listeners:
            server.close()
    assert result.ok, result.message
    for port in ports.split():  # no socket but a Unix one (seccomp), in an empty namespace
        assert f"PORT {port} EPERM" in result.log_tail
    assert "INTERFACES ['lo']" in result.log_tail
    assert "OUTSIDE EPERM" in result.log_tail


def test_writes_outside_output_and_tmp_fail(tmp_path: Path) -> None:
    result = run(tmp_path, hostile.WRITE_OUTSIDE)
    assert result.ok, result.message
    assert "WROTE" not in result.log_tail
    assert "TMP_AND_OUTPUT_OK" in result.log_tail
    assert "SHM_CAPPED" in result.log_tail  # full (ENOSPC) or over the file size (EFBIG)
    assert (tmp_path / "task" / "train.parquet").read_bytes() == b"PAR1 public train rows"
    assert not (tmp_path / "code" / "evil").exists()


def test_fork_bomb_hits_the_process_limit(tmp_path: Path) -> None:
    limits = SandboxLimits(**{**SMALL.as_dict(), "wall_seconds": 8})
    result = run(tmp_path, hostile.FORK_BOMB, limits)
    assert not result.ok
    assert result.limit_hit == "processes"
    assert "process limit (48)" in result.message
    assert result.seconds < 8
    assert len([p for p in os.listdir("/proc") if p.isdigit()]) < 100_000


def test_memory_bomb_hits_the_memory_limit(tmp_path: Path) -> None:
    result = run(tmp_path, hostile.MEMORY_BOMB)
    assert not result.ok and result.limit_hit == "memory_mb"
    assert "memory limit (1024 MiB)" in result.message
    assert result.peak_memory_mb <= 1100


def test_filling_the_disk_hits_the_output_limit(tmp_path: Path) -> None:
    result = run(tmp_path, hostile.FILL_DISK)
    assert not result.ok and result.limit_hit == "output_mb"
    assert "output size limit (40 MiB)" in result.message
    written = sum(p.stat().st_size for p in (tmp_path / "out").iterdir())
    assert written < 40 * 1024 * 1024 + 200 * 1024 * 1024  # at most one poll's overshoot


def test_endless_loop_hits_the_cpu_limit(tmp_path: Path) -> None:
    limits = SandboxLimits(**{**SMALL.as_dict(), "cpu_seconds": 2})
    result = run(tmp_path, hostile.ENDLESS_LOOP, limits)
    assert not result.ok and result.limit_hit == "cpu_seconds"
    assert "CPU-time limit (2 s)" in result.message


def test_sleeping_forever_hits_the_wall_clock(tmp_path: Path) -> None:
    limits = SandboxLimits(**{**SMALL.as_dict(), "wall_seconds": 2})
    result = run(tmp_path, hostile.SLEEPER, limits)
    assert not result.ok and result.limit_hit == "wall_seconds"
    assert "wall-clock limit (2 s)" in result.message
    assert result.seconds < 30


def test_stdout_flood_is_cut_at_the_log_limit_and_never_stored(tmp_path: Path) -> None:
    result = run(tmp_path, hostile.STDOUT_FLOOD)
    assert not result.ok and result.limit_hit == "log_mb"
    assert "log size limit (5 MiB)" in result.message
    assert len(result.log_tail.encode()) <= 64 * 1024
    assert result.log_bytes > 5 * 1024 * 1024
    assert not any((tmp_path / "out").iterdir())


def test_filling_tmp_hits_the_tmp_limit(tmp_path: Path) -> None:
    script = "with open('/tmp/fill', 'wb') as f:\n    while True:\n        f.write(b'x' * 10**6)\n"
    result = run(tmp_path, script)
    assert not result.ok and result.limit_hit == "tmp_mb"
    assert "/tmp size limit (40 MiB)" in result.message
