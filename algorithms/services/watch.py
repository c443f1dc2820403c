"""Watching a running run: heartbeat, live log tail, cancel and takeover.

The sandbox polls :meth:`RunWatch.should_stop` about once a second in the task's own
thread (the task-folder copy calls :meth:`RunWatch.check` between chunks); every
``HEARTBEAT_SECONDS`` that writes the heartbeat (the sweeper ends a run whose worker went
quiet) and, for a profile with a live log, the new lines of that file, read from the host
side of ``/output``. It answers "stop" when the run was cancelled, when the run is no
longer this delivery's (the sweeper ended it meanwhile), or when its worker is stopping
(:mod:`jobs.stopping`: the run then goes back to the queue, :func:`.outcome.give_back`).

The live log is the algorithm's file, so it is read like any of its output: never through
a link, only a regular file, and only what was appended since the last read.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from billiard.exceptions import SoftTimeLimitExceeded  # celery.exceptions's, without kombu
from django.db import connection
from django.utils import timezone

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from algorithms.sandbox.base import LOG_TAIL_BYTES
from jobs import stopping

logger = logging.getLogger(__name__)

# While running, the heartbeat and log tail are written (and the cancel flag read) this often.
HEARTBEAT_SECONDS = 3.0
_READ_CHUNK = 64 * 1024


class RunCancelled(Exception):
    """The run was cancelled (or taken away) before the sandbox started."""


class RunWatch(threading.Event):
    """Reports a running run's progress and says when it must stop (see the module)."""

    def __init__(self, *, run_pk: int, token: str, log_path: Path | None = None) -> None:
        super().__init__()
        self.log = LogTail(log_path, self.line) if log_path is not None else None
        self.run_pk, self.token = run_pk, token
        self.lines: deque[str] = deque()
        self.size = 0
        self.dirty = False
        self.lost = False
        self.stopping = False  # its worker is stopping (jobs.stopping): not a cancel
        self.last_beat = time.monotonic()

    def line(self, text: str) -> None:
        """A new line of the live log: keep the last ``LOG_TAIL_BYTES``."""
        self.lines.append(text)
        self.size += len(text) + 1
        while self.size > LOG_TAIL_BYTES and len(self.lines) > 1:
            self.size -= len(self.lines.popleft()) + 1
        self.dirty = True

    def is_set(self) -> bool:
        if not super().is_set() and stopping.stop_requested():
            self.stopping = True  # the worker is stopping: the run goes back to the queue
            self.set()
        if not super().is_set() and time.monotonic() - self.last_beat >= HEARTBEAT_SECONDS:
            self.beat()
        return super().is_set()

    def beat(self) -> None:
        self.last_beat = time.monotonic()
        update: dict[str, Any] = {"heartbeat_at": timezone.now()}
        if self.dirty:
            update["log_tail"] = "\n".join(self.lines)
        try:
            mine = AlgorithmRun.objects.filter(
                pk=self.run_pk, status=AlgorithmRunStatus.RUNNING, claim_token=self.token
            )
            updated = mine.update(**update)
            cancel = updated and mine.filter(cancel_requested=True).exists()
            # A container stop reaches the worker's main process alone: it marks its claims.
            self.stopping = bool(updated) and not cancel and stopping.stop_marked()
        except SoftTimeLimitExceeded:
            raise
        except Exception:  # the database is briefly away: keep running, try again later
            logger.warning("run %s: heartbeat failed", self.run_pk, exc_info=True)
            # On a new connection: this one may be dead (PostgreSQL restarted, its
            # connections killed, a cut link) and would fail every later beat and the run's
            # own end, hours of work lost for a second's outage
            # (docs/decisions/0058-nothing-lost-when-faults-overlap.md).
            if not connection.in_atomic_block:
                connection.close()
            return
        self.dirty = self.dirty and not updated
        if not updated:
            self.lost = True
            self.set()
        elif cancel or self.stopping:
            self.set()

    def check(self) -> None:
        """Between copied chunks: beat, and stop the run if it was cancelled."""
        if self.is_set():
            raise RunCancelled

    def should_stop(self) -> bool:
        """The sandbox's ``should_stop``: read new log lines, beat, and answer."""
        if self.log is not None:
            self.log.pump()
        return self.is_set()

    def drain(self) -> None:
        """After the run: the log lines written since the last poll."""
        if self.log is not None:
            self.log.pump(final=True)


class LogTail:
    """Hands complete new lines of a growing file to a callback; a link, a FIFO or any
    other non-regular file is never opened for reading."""

    def __init__(self, path: Path, callback: Callable[[str], None]) -> None:
        self.path, self.callback = path, callback
        self.offset, self.partial = 0, b""

    def pump(self, *, final: bool = False) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                return
            if info.st_size - self.offset > LOG_TAIL_BYTES:  # only the tail is kept anyway
                self.offset, self.partial = info.st_size - LOG_TAIL_BYTES, b""
            fh.seek(self.offset)
            while chunk := fh.read(_READ_CHUNK):
                self.offset += len(chunk)
                self.partial = (self.partial + chunk)[-LOG_TAIL_BYTES:]
        *lines, self.partial = self.partial.split(b"\n")
        if final and self.partial:
            lines.append(self.partial)
            self.partial = b""
        for raw in lines:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self.callback(line)
