"""The web's CPU priority (runtime.cpu_priority): below the scoring workers', for
its session's scheduling group too when it is a service in a session of its own.

Each case runs in a real child process (a priority once lowered cannot be raised back), in
the kind of session it is about: a service's (no terminal) or a terminal's (a pseudo-terminal
made its controlling terminal).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.cpu_priority import web_nice

REPO = Path(__file__).resolve().parents[2]
AUTOGROUP = Path("/proc/self/autogroup")
needs_autogroup = pytest.mark.skipif(
    not AUTOGROUP.exists(), reason="this kernel has no autogroup scheduling (/proc/*/autogroup)"
)

REPORT = """
import os
from runtime.cpu_priority import lower
lower({nice})
group = open("/proc/self/autogroup").read().split()[-1]
print(os.getpriority(os.PRIO_PROCESS, 0), group)
"""


def _run(nice: int, *, preexec=None, start_at: int = 0) -> tuple[int, int]:
    """``lower(nice)`` in a child started in a session of its own at ``start_at``; its
    nice value and its session group's, as it reports them."""

    def setup() -> None:
        os.setsid()
        if start_at:
            os.setpriority(os.PRIO_PROCESS, 0, start_at)
        if preexec is not None:
            preexec()

    done = subprocess.run(
        [sys.executable, "-c", REPORT.format(nice=nice)],
        cwd=REPO,
        preexec_fn=setup,  # only setsid, setpriority and open, before the exec
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    own, group = done.stdout.split()
    return int(own), int(group)


@needs_autogroup
def test_a_service_lowers_its_process_and_its_session_group() -> None:
    assert _run(5) == (5, 5)


@needs_autogroup
def test_from_a_terminal_only_the_process_is_lowered() -> None:
    """The session is then the user's shell's: its group keeps its priority."""
    leader, follower = os.openpty()
    name = os.ttyname(follower)

    def take_terminal() -> None:
        os.close(os.open(name, os.O_RDWR))  # a session leader opening a tty: its terminal

    try:
        assert _run(5, preexec=take_terminal) == (5, 0)
    finally:
        os.close(leader)
        os.close(follower)


@needs_autogroup
def test_a_priority_already_lower_is_kept() -> None:
    assert _run(5, start_at=12)[0] == 12
    assert _run(0) == (0, 0)  # 0: nothing changes


@pytest.mark.parametrize("raw", ["abc", "-3", "20", "5.5"])
def test_a_bad_web_cpu_nice_is_refused_by_name(monkeypatch, raw) -> None:
    monkeypatch.setenv("WEB_CPU_NICE", raw)
    with pytest.raises(ValueError, match="WEB_CPU_NICE must be a whole number from 0 to 19"):
        web_nice()


def test_web_cpu_nice_defaults_to_5(monkeypatch) -> None:
    monkeypatch.delenv("WEB_CPU_NICE", raising=False)
    assert web_nice() == 5
    monkeypatch.setenv("WEB_CPU_NICE", "0")
    assert web_nice() == 0
