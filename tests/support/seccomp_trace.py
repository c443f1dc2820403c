"""A pytest plugin that traces every sandboxed program of a test run with ``strace``: how the
sandbox's seccomp allow-list is derived (``scripts/seccomp_trace.py`` loads it with ``-p``;
``algorithms/sandbox/seccomp.py`` says why).

While loaded, each :class:`~algorithms.sandbox.bubblewrap.BubblewrapBackend` of the test process
starts bwrap under ``strace -f`` (a wrapper script in the trace folder; the sandbox's user, who
runs bwrap, may write there) and loads the *tracing* filter (``seccomp.tracing_program``:
every call allowed but those refused with ``ENOSYS``, which a program meets as on a kernel
without them), so the trace holds what the honest program asks for, not what today's list
lets through. Only the program's own calls count: those of the process that executes the
launcher (from that ``execve`` on) and of every process that appears after it; bwrap's setup
before it is not the program's. At the session's end the calls seen are written to
``SECCOMP_TRACE_OUT`` as JSON: ``{"runs": N, "calls": {name: runs that made it},
"arguments": {"socket(AF_UNIX": runs, ...}}`` (the first argument of the calls the filter
allows by argument).
Needs ``strace`` and a test process that runs the sandbox in-process (a worker's runs are
not traced).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from algorithms.sandbox import bubblewrap, seccomp
from algorithms.sandbox.command import LAUNCHER_PATH

TRACE_DIR = "SECCOMP_TRACE_DIR"
TRACE_OUT = "SECCOMP_TRACE_OUT"
# ``PID name(`` (a whole call, or its unfinished start) and ``PID <... name resumed>``.
_CALL = re.compile(r"^(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()")
# The launcher's start: python executed with the launcher as its script (bwrap's own execve,
# whose arguments name the launcher too, executes bwrap).
_LAUNCH = re.compile(r'^\d+\s+execve\("[^"]*", \["[^"]*", "-B", "-s", "' + re.escape(LAUNCHER_PATH))


def program_lines(trace: str) -> Iterator[tuple[str, str]]:
    """``(call, line)`` for each system call of the sandboxed program in one strace log
    (``strace -f``)."""
    before: set[int] = set()
    inside: set[int] = set()
    for line in trace.splitlines():
        match = _CALL.match(line)
        if match is None:
            continue
        pid = int(match.group(1))
        name = match.group(2) or match.group(3)
        if pid not in inside:
            if name == "execve" and _LAUNCH.match(line) and not inside:
                inside.add(pid)
            elif not inside or pid in before:
                before.add(pid)
                continue
            else:
                inside.add(pid)  # first seen after the launcher started: the program's
        yield name, line


# The first argument of the calls the filter allows by their arguments, as strace shows it.
_FIRST_ARGUMENT = re.compile(r"^\d+\s+(socket|socketpair|personality)\(([^,)]*)")


def program_calls(trace: str) -> tuple[set[str], set[str]]:
    """The system calls of the sandboxed program in one strace log, and the first argument
    of each ``socket``, ``socketpair`` and ``personality`` call (``socket(AF_UNIX``)."""
    calls: set[str] = set()
    arguments: set[str] = set()
    for name, line in program_lines(trace):
        calls.add(name)
        found = _FIRST_ARGUMENT.match(line)
        if found is not None:
            arguments.add(f"{found.group(1)}({found.group(2)}")
    return calls, arguments


class _Tracer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.logs = folder / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)  # the wrapper is run by the sandbox's user
        # bwrap runs as the sandbox's user (nobody, under a root worker): it writes the logs.
        self.logs.chmod(0o1777)
        self.wrapper = folder / "bwrap"
        strace = shutil.which("strace")
        bwrap = shutil.which("bwrap") or "/usr/bin/bwrap"
        if strace is None:
            raise pytest.UsageError("the seccomp trace needs strace (apt-get install strace)")
        self.wrapper.write_text(
            "#!/bin/sh\n"
            f'exec {strace} -f -qq -s 200 -o "$(mktemp {self.logs}/run-XXXXXX)" {bwrap} "$@"\n'
        )
        self.wrapper.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)

    def calls(self) -> dict[str, object]:
        seen: Counter[str] = Counter()
        arguments: Counter[str] = Counter()
        runs = 0
        for log in sorted(self.logs.glob("run-*")):
            calls, with_arguments = program_calls(log.read_text(errors="replace"))
            if calls:
                runs += 1
                seen.update(calls)
                arguments.update(with_arguments)
        return {
            "runs": runs,
            "calls": dict(sorted(seen.items())),
            "arguments": dict(sorted(arguments.items())),
        }


_tracer: _Tracer | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _tracer
    folder = os.environ.get(TRACE_DIR)
    if not folder:
        raise pytest.UsageError(f"the seccomp trace plugin needs {TRACE_DIR} (a folder)")
    _tracer = _Tracer(Path(folder))
    original = bubblewrap.BubblewrapBackend.__init__

    def traced_init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        self.bwrap = str(_tracer.wrapper)

    bubblewrap.BubblewrapBackend.__init__ = traced_init  # type: ignore[method-assign]
    seccomp.program = seccomp.tracing_program  # type: ignore[assignment]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _tracer is None:
        return
    out = Path(os.environ.get(TRACE_OUT) or _tracer.folder / "calls.json")
    out.write_text(json.dumps(_tracer.calls(), indent=1))
