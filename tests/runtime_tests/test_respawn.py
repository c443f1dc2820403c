"""The embedded default's background processes are started again when they crash
(runtime/respawn.py), and stopped, not restarted, when honcho stops them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from runtime import respawn
from tests.support.waiting import wait_for


def _runs(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_crashed_process_is_started_again_and_a_clean_exit_ends_the_wrapper(tmp_path) -> None:
    runs = tmp_path / "runs"
    # Crashes (status 3) the first time, exits 0 the second.
    command = f"echo run >> {runs}; [ $(wc -l < {runs}) -ge 2 ] && exit 0; exit 3"
    done = subprocess.run(
        [sys.executable, "-m", "runtime.respawn", "worker", command],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _runs(runs) == 2
    assert done.stderr.strip() == "worker exited with status 3; starting it again in 1 s"


def test_a_crash_loop_gives_up_with_the_last_status(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(respawn, "FIRST_PAUSE", 0.0)
    monkeypatch.setattr(respawn, "MAX_CRASHES", 2)
    runs = tmp_path / "runs"
    status = respawn.respawn(
        name="beat", command=f"echo run >> {runs}; exit 4", stop=respawn.Stop(install=False)
    )
    assert status == 4 and _runs(runs) == 3  # two crashes forgiven, the third is a loop


def test_sigterm_stops_the_process_and_it_is_not_started_again(tmp_path) -> None:
    runs = tmp_path / "runs"
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "runtime.respawn", "worker",
         f"echo run >> {runs}; exec sleep 60"],
        start_new_session=True, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: _runs(runs) == 1, timeout=30, what="the command to start")
        os.killpg(wrapper.pid, signal.SIGTERM)  # as honcho stops a process: its whole group
        assert wrapper.wait(timeout=30) == 128 + signal.SIGTERM
        assert _runs(runs) == 1 and "starting it again" not in wrapper.stderr.read()
    finally:
        if wrapper.poll() is None:
            os.killpg(wrapper.pid, signal.SIGKILL)


def test_a_signal_to_the_wrapper_alone_reaches_its_command(tmp_path) -> None:
    runs = tmp_path / "runs"
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "runtime.respawn", "worker",
         f"echo run >> {runs}; exec sleep 60"],
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: _runs(runs) == 1, timeout=30, what="the command to start")
        wrapper.send_signal(signal.SIGINT)
        assert wrapper.wait(timeout=30) == 128 + signal.SIGINT
        assert _runs(runs) == 1
    finally:
        if wrapper.poll() is None:
            os.killpg(wrapper.pid, signal.SIGKILL)
