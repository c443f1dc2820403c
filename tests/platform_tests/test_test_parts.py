"""The suite's parts (scripts/test_parts.sh, behind the README's test command), run on a small
suite of their own in a folder that stands for the repository (its ``.venv`` is this one's):
the tests marked ``beside`` run while the parallel part runs, the ``host_wide`` ones after
both, alone; a failure in any part fails the run; and a Ctrl-C stops the pytest beside too,
its fixtures' teardown run (a chaos run's namespaces are taken down by its fixture), nothing
of the run left."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

PYPROJECT = """\
[tool.pytest.ini_options]
testpaths = ["tests"]
markers = ["beside: beside the parallel part", "host_wide: alone, after"]
"""

# Each test writes when it started and ended into the shared folder (MARKS).
TESTS = {
    "test_parallel.py": """\
import os, time
from pathlib import Path

MARKS = Path(os.environ["MARKS"])

def test_parallel():
    (MARKS / "parallel.start").write_text(str(time.time()))
    time.sleep(float(os.environ.get("PARALLEL_SECONDS", "3")))
    (MARKS / "parallel.end").write_text(str(time.time()))
""",
    "test_beside.py": """\
import os, time
from pathlib import Path
import pytest

MARKS = Path(os.environ["MARKS"])

@pytest.fixture
def deployment():
    yield
    (MARKS / "beside.torn-down").write_text(str(time.time()))

@pytest.mark.beside
def test_beside(deployment):
    (MARKS / "beside.start").write_text(str(time.time()))
    time.sleep(float(os.environ.get("BESIDE_SECONDS", "1")))
    (MARKS / "beside.end").write_text(str(time.time()))
    assert os.environ.get("BESIDE_FAILS") != "1", "the beside test fails as asked"
""",
    "test_host.py": """\
import os, time
from pathlib import Path
import pytest

MARKS = Path(os.environ["MARKS"])

@pytest.mark.host_wide
def test_host():
    (MARKS / "host.start").write_text(str(time.time()))
""",
}


def _suite(tmp_path: Path) -> tuple[Path, Path]:
    """A folder laid out as the repository for the script (scripts/, .venv, a suite)."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "test_parts.sh", root / "scripts")
    (root / ".venv").symlink_to(REPO / ".venv")
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "tests").mkdir()
    for name, text in TESTS.items():
        (root / "tests" / name).write_text(text)
    marks = tmp_path / "marks"
    marks.mkdir()
    return root, marks


def _env(tmp_path: Path, marks: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "DJANGO_", "DATABASE_")) and k != "DATA_DIR"
    }
    (tmp_path / "data").mkdir(exist_ok=True)
    env.update(DATA_DIR=str(tmp_path / "data"), MARKS=str(marks), TEST_PROCESSES="2", **extra)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # a quicker start: xdist alone (ARGS)
    return env


ARGS = ["-q", "-p", "xdist.plugin"]


def _mark(marks: Path, name: str) -> float:
    return float((marks / name).read_text())


def test_the_beside_part_runs_with_the_parallel_one_and_the_host_wide_after(tmp_path):
    root, marks = _suite(tmp_path)
    done = subprocess.run(
        ["bash", "scripts/test_parts.sh", *ARGS],
        cwd=root, env=_env(tmp_path, marks), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # Beside: it started before the parallel part's test ended.
    assert _mark(marks, "beside.start") < _mark(marks, "parallel.end")
    # The host-wide part after both, alone.
    assert _mark(marks, "host.start") > max(
        _mark(marks, "parallel.end"), _mark(marks, "beside.end")
    )
    beside = done.stdout.split("== the tests beside the parallel part")[1]
    assert "1 passed" in beside


def test_a_failure_beside_fails_the_run(tmp_path):
    root, marks = _suite(tmp_path)
    done = subprocess.run(
        ["bash", "scripts/test_parts.sh", *ARGS],
        cwd=root, env=_env(tmp_path, marks, BESIDE_FAILS="1"), capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "the beside test fails as asked" in done.stdout  # its log is shown
    assert (marks / "host.start").exists()  # the host-wide part still ran


def test_a_ctrl_c_stops_the_pytest_beside_after_its_teardown(tmp_path):
    root, marks = _suite(tmp_path)
    script = subprocess.Popen(
        ["bash", "scripts/test_parts.sh", *ARGS],
        cwd=root,
        env=_env(tmp_path, marks, PARALLEL_SECONDS="120", BESIDE_SECONDS="120"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's command
        preexec_fn=_as_from_a_terminal,
    )
    try:
        wait_for(
            lambda: (marks / "parallel.start").exists() and (marks / "beside.start").exists(),
            timeout=120,
            what="both parts started",
        )
        os.killpg(script.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C
        out, _ = script.communicate(timeout=60)
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait()
    assert script.returncode == 130, out
    assert (marks / "beside.torn-down").exists(), out  # its fixture's teardown ran
    assert not (marks / "host.start").exists()  # nothing after the interruption
    time.sleep(0.5)
    left = [p for p in psutil.process_iter(["pid"]) if _session(p) == script.pid]
    assert left == [], left


def _as_from_a_terminal() -> None:
    """SIGINT as a terminal's command has it: this test's own process may have been started
    with it ignored (a command run in the background by a script: ``make test &``), and a
    shell does not let a script trap a signal ignored when it started."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _session(process: psutil.Process) -> int | None:
    try:
        return os.getsid(process.pid)
    except (ProcessLookupError, PermissionError):
        return None
