"""What the backend watches while a run is alive: its log pipe, its output folder, its
processes (resident memory and CPU time, for the hosts where no cgroup counts them)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

from algorithms.sandbox.base import LOG_TAIL_BYTES
from algorithms.sandbox.outputfs import usage

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
    """Sums ``/output`` (sizes and allocated blocks, :func:`outputfs.usage`) every
    ``OUTPUT_POLL_SECONDS`` in its own thread and kills the run (``kill``) the moment it grows
    past ``cap``: on a host folder a disk-filling loop overshoots by what it writes in one
    such interval; on the output tmpfs the kernel stops it at the cap and this only catches
    sparse sizes (which a copy out would otherwise write in full)."""

    def __init__(self, path: Path, cap: int, kill: Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self.path, self.cap, self.kill = path, cap, kill
        self.over = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            if usage(self.path) > self.cap:
                self.kill()
                self.over.set()
                return
            self.done.wait(OUTPUT_POLL_SECONDS)


def sample_tree(pid: int, cpu: dict[int, float]) -> int:
    """Resident bytes of ``pid`` and its descendants (0 when gone); records each process's
    CPU seconds in ``cpu`` (the kernel's rusage misses what the sandbox never reaps)."""
    try:
        import psutil

        root = psutil.Process(pid)
        total = 0
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
                times = proc.cpu_times()
                cpu[proc.pid] = max(cpu.get(proc.pid, 0.0), times.user + times.system)
        return total
    except Exception:
        return 0
