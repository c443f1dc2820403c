"""The output check's fork server: one per worker process, each check a fork of it.

A run's predictions are read in a process of their own (:mod:`algorithms.services.output`).
Started afresh for every run, that process paid an interpreter's start and the imports of
pyarrow, numpy and the scoring core each time: about a quarter of a second on an idle
machine, as much as a trivial method on a small task takes. Here one server process
(``python -I -B -m algorithms.output_check --serve``, with the same cleared environment) is
started on a worker's first check and imports those once; each check is a child it forks,
which is exactly the process the command line would have been: a session of its own (the
worker kills it by its process group on a cancel or a time limit), the same address-space,
CPU-time and core limits, the report written to a file of the run's folder.

The server answers each request with the child's pid once the child is a session of its own,
and with its exit status once its report is written (or it ended without one); it ends itself
when its worker does (its stdin closes). The child is forked before its request, while the
worker goes on with the previous run, and reaped after its answer, so neither the fork nor
the teardown of what it decoded is on a run's path
(docs/decisions/0064-the-output-check-s-child-is-forked-ahead.md). Anything unexpected (the
server gone, a garbled answer) stops this server, and the check falls back to a process of
its own, as before.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ANSWER_SECONDS = 30.0  # the pid comes at once; a killed child's end within this


class ServerUnusable(Exception):
    """The fork server could not take or finish the request: check another way."""


@dataclass
class Ended:
    returncode: int
    output: bytes


class CheckServer:
    """One fork server (module docstring); thread-safe, one check at a time."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.environment = environment
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._pid = os.getpid()
        # What was read of the server's answers past the last whole line: both of a quick
        # check's lines can be in the pipe at once, and the second, once read, is no longer
        # there for select() to see.
        self._unread = b""

    def _started(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None or self._pid != os.getpid():
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-B", "-m", "algorithms.output_check", "--serve"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=self.environment,
                close_fds=True,
                start_new_session=True,
            )
            self._pid = os.getpid()
            self._unread = b""
        return self._process

    def stop(self) -> None:
        process, self._process = self._process, None
        self._unread = b""
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def check(
        self,
        argv: list[str],
        *,
        report: Path,
        memory: int,
        cpu: int,
        poll: Callable[[], None],
    ) -> Ended:
        """Run one check (``argv`` for ``output_check.main``); ``poll()`` is called about
        every 0.2 s while it runs and may raise to end it (a cancel, a time limit): the
        child's process group is killed and the exception goes on. :class:`ServerUnusable`
        when the server cannot be used (the check did not run, or its end is unknown)."""
        with self._lock:
            try:
                process = self._started()
                request = {"argv": argv, "report": str(report), "memory": memory, "cpu": cpu}
                process.stdin.write((json.dumps(request) + "\n").encode())
                process.stdin.flush()
                pid = self._answer(process, ANSWER_SECONDS).get("pid")
            except (OSError, ValueError) as exc:
                self.stop()
                raise ServerUnusable(str(exc)) from exc
            if not isinstance(pid, int):
                self.stop()
                raise ServerUnusable("no child")
            try:
                ended = self._wait(process, pid, poll)
            except (OSError, ValueError) as exc:
                self.stop()
                raise ServerUnusable(str(exc)) from exc
            returncode = ended.get("returncode")
            if ended.get("pid") != pid or not isinstance(returncode, int):
                self.stop()
                raise ServerUnusable("the check's end is unknown")
            output = report.read_bytes() if report.exists() else b""
            return Ended(returncode=returncode, output=output)

    def _wait(self, process: subprocess.Popen, pid: int, poll: Callable[[], None]) -> dict:
        """The child's end; on an exception from ``poll`` the child is killed first, its end
        read (so the next check starts on a clean line), and the exception raised."""
        while True:
            try:  # first at once: a cancel that came before the check ends it unread
                poll()
            except BaseException:
                _kill_check(pid)
                try:
                    self._answer(process, ANSWER_SECONDS)
                except (OSError, ValueError):
                    self.stop()
                raise
            try:
                return self._answer(process, 0.2)
            except TimeoutError:
                pass

    def _answer(self, process: subprocess.Popen, seconds: float) -> dict:
        """The server's next line within ``seconds`` (:class:`TimeoutError` when none came,
        ``ValueError`` when the server ended or said something else). Read from the pipe
        itself, not through a buffered reader: a line read ahead into a buffer is one that
        select() would wait for in vain."""
        deadline = time.monotonic() + seconds
        while b"\n" not in self._unread:
            left = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([process.stdout], [], [], left)
            if not ready:
                if seconds >= ANSWER_SECONDS:
                    raise ValueError("no answer")
                raise TimeoutError
            more = os.read(process.stdout.fileno(), 65536)
            if not more:
                raise ValueError("the server ended")
            self._unread += more
        line, self._unread = self._unread.split(b"\n", 1)
        answer = json.loads(line)
        if not isinstance(answer, dict):
            raise ValueError("not an answer")
        return answer


_servers: dict[tuple, CheckServer] = {}
_servers_lock = threading.Lock()


def check_server(*, environment: dict[str, str]) -> CheckServer:
    """This process's server for checks run with ``environment``."""
    key = tuple(sorted(environment.items()))
    with _servers_lock:
        server = _servers.get(key)
        if server is None:
            server = _servers[key] = CheckServer(environment)
        return server


def _kill_check(pid: int) -> None:
    """Kill a check and whatever it started: its process group, or the child alone when it
    has not made its group yet (it was just forked)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    except PermissionError:
        pass
