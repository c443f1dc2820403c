"""What the backend watches while a run is alive: its log pipe, bwrap's status pipe, its
``/output`` (in O(1) a look), its processes (resident memory and CPU time, for the hosts
where no cgroup counts them)."""

from __future__ import annotations

import contextlib
import json
import os
import select
import threading
import time
from collections.abc import Callable

from algorithms.sandbox.base import LOG_TAIL_BYTES
from algorithms.sandbox.outputfs import MAX_INODES, SandboxOutput

OUTPUT_POLL_SECONDS = 0.02  # the output watcher's own, tighter loop


class LogReader(threading.Thread):
    """Drains the run's stdout+stderr pipe: keeps the tail, counts every byte."""

    def __init__(self, fd: int, cap: int) -> None:
        super().__init__(daemon=True)
        self.fd, self.cap = fd, cap
        self.tail = bytearray()
        self.total = 0
        self.over = threading.Event()

    def run(self) -> None:
        try:
            while chunk := os.read(self.fd, 65536):
                self.total += len(chunk)
                self.tail += chunk
                if len(self.tail) > 2 * LOG_TAIL_BYTES:
                    del self.tail[: len(self.tail) - LOG_TAIL_BYTES]
                if self.total > self.cap:
                    self.over.set()
        except OSError:
            pass
        finally:
            os.close(self.fd)

    def text(self) -> str:
        data = bytes(self.tail[-LOG_TAIL_BYTES:])
        if self.total > LOG_TAIL_BYTES and b"\n" in data:
            data = data.split(b"\n", 1)[1]
        # NUL is not text (PostgreSQL refuses it in a text column): shown as \0.
        return data.decode("utf-8", "replace").replace("\x00", "\\0")


class OutputWatch(threading.Thread):
    """Looks at ``/output`` every ``OUTPUT_POLL_SECONDS`` in its own thread, one
    ``fstatvfs`` a look (:meth:`.outputfs.SandboxOutput.usage`: O(1) whatever the run
    wrote), and kills the run (``kill``) the moment it holds more than ``MAX_INODES`` files
    and folders (``reason`` says so). Blocks past ``cap`` never get there: the tmpfs refuses
    them (``ENOSPC``)."""

    def __init__(
        self, output: SandboxOutput, cap: int, kill: Callable[[], None], inodes: int = MAX_INODES
    ) -> None:
        super().__init__(daemon=True)
        self.output, self.cap, self.kill, self.inodes = output, cap, kill, inodes
        self.over = threading.Event()
        self.done = threading.Event()
        self.reason = ""
        self.cpu_seconds = 0.0  # this thread's own CPU time, charged to the run

    def run(self) -> None:
        try:
            while not self.done.is_set():
                used = self.output.usage()
                if used.inodes > self.inodes:
                    self.reason = f"/output held more than {self.inodes:,} files and folders"
                elif used.bytes > self.cap:
                    self.reason = "/output grew past its size"
                if self.reason:
                    self.over.set()  # before the kill: whoever sees the end sees why
                    self.kill()
                    return
                self.done.wait(OUTPUT_POLL_SECONDS)
        except OSError:  # the descriptor was closed under it: the run is over
            pass
        finally:
            self.cpu_seconds = time.thread_time()


class StatusPipe:
    """bwrap's ``--json-status-fd`` lines, merged (``child-pid`` first, then ``exit-code``
    when the program ends): read in part while bwrap sets up, the rest after the run."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.data = bytearray()
        self.eof = False

    def child_pid(self, *, alive: Callable[[], bool], timeout: float = 60.0) -> int | None:
        """The sandboxed program's pid on the host, once bwrap has said it (None: bwrap
        ended or said nothing in ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while (pid := self.merged().get("child-pid")) is None:
            if self.eof or not alive() or time.monotonic() > deadline:
                return None
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                self._read_once()
        return int(pid) if isinstance(pid, int) else None

    def _read_once(self) -> None:
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:
            chunk = b""
        if not chunk or len(self.data) > 1 << 20:
            self.eof = True
        self.data += chunk

    def finish(self) -> dict[str, object]:
        """Read to the end (bwrap's monitor has exited), close, return the merged lines."""
        while not self.eof:
            self._read_once()
        with contextlib.suppress(OSError):
            os.close(self.fd)
        return self.merged()

    def merged(self) -> dict[str, object]:
        merged: dict[str, object] = {}
        for line in bytes(self.data).decode(errors="replace").splitlines():
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                merged.update(json.loads(line))
        return merged


def sample_tree(pid: int, cpu: dict[int, float], pids: list[int] | None = None) -> int:
    """Resident bytes of ``pid`` and its descendants (0 when gone), or of ``pids`` (the run's
    cgroup members: read from its ``cgroup.procs`` instead of a scan of every process on the
    host); records each process's CPU seconds in ``cpu`` (the kernel's rusage misses what
    the sandbox never reaps)."""
    try:
        import psutil

        if pids is None:
            root = psutil.Process(pid)
            processes = [root, *root.children(recursive=True)]
        else:
            processes = []
            for member in pids:
                with contextlib.suppress(psutil.Error):
                    processes.append(psutil.Process(member))
        total = 0
        for proc in processes:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
                times = proc.cpu_times()
                cpu[proc.pid] = max(cpu.get(proc.pid, 0.0), times.user + times.system)
        return total
    except Exception:
        return 0
