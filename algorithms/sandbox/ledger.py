"""A host's memory budget shared by every sandboxed run on it (baselines included).

Each run's limits promise it some of the host's memory
(:meth:`~algorithms.sandbox.base.SandboxLimits.host_memory_mb`, as its backend runs it:
``memory_mb`` under a memory cgroup, which holds the tmpfs pages too; without one,
``memory_mb`` of address space plus the tmpfs mounts ``/tmp``, ``/dev/shm`` and ``/output``,
kept in RAM); with several workers, or a worker with concurrency above one, the promises add
up. :class:`MemoryLedger` keeps them under one total (``ALGORITHM_TOTAL_MEMORY_MB``; 0
turns it off; ``auto``, the default, is the host's memory less a reserve for the workers
themselves): a run reserves its promise before its sandbox starts and waits, polling about
once a second (and stopping when ``should_stop()`` says so), until the reservations of the
live runs leave room. A run that alone exceeds the total is refused at once. The ledger is
a folder of one small file per reservation (``<pid>-<id>``, holding the megabytes) under an
``fcntl`` lock, so it needs no server and a reservation of a worker that died (its pid
gone) is dropped.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from algorithms.sandbox.host import pid_alive

POLL_SECONDS = 1.0


class MemoryBudgetExceeded(Exception):
    """The run alone asks for more than the host's total."""


class MemoryLedger:
    def __init__(self, folder: Path, total_mb: int, *, oversize_alone: bool = False) -> None:
        # oversize_alone: a run asking for more than the total waits until it is alone on
        # the host instead of being refused (the total is the host's own size, which a run
        # whose address-space cap is larger may still fit in).
        self.folder, self.total_mb = Path(folder), int(total_mb)
        self.oversize_alone = oversize_alone

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def reserved_mb(self) -> int:
        """The live reservations' total (dead workers' entries are removed)."""
        total = 0
        for entry in self.folder.glob("*-*"):
            try:
                pid = int(entry.name.split("-", 1)[0])
                amount = int(entry.read_text() or 0)
            except (ValueError, OSError):
                continue
            if pid_alive(pid):
                total += amount
            else:
                entry.unlink(missing_ok=True)
        return total

    @contextlib.contextmanager
    def reserve(self, mb: int, *, should_stop: Callable[[], bool] | None = None) -> Iterator[bool]:
        """Hold ``mb`` while the block runs; yields False when ``should_stop()`` said so
        before there was room (nothing is reserved then)."""
        if self.total_mb <= 0:
            yield True
            return
        if mb > self.total_mb and self.oversize_alone:
            mb = self.total_mb
        if mb > self.total_mb:
            raise MemoryBudgetExceeded(
                f"the run asks for {mb} MB (its memory limit, plus its /tmp, /dev/shm and "
                "/output tmpfs where no memory cgroup holds them) and the host's total for "
                f"all runs is {self.total_mb} MB (ALGORITHM_TOTAL_MEMORY_MB)"
            )
        entry = self.folder / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        while True:
            with self._locked():
                if self.reserved_mb() + mb <= self.total_mb:
                    entry.write_text(str(mb))
                    break
            if should_stop is not None and should_stop():
                yield False
                return
            time.sleep(POLL_SECONDS)
        try:
            yield True
        finally:
            entry.unlink(missing_ok=True)
