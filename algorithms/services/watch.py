"""Claiming a baseline run and watching it while the sandbox runs it.

The run itself (the built-in algorithm version, the ``/task`` folder, the sandbox) is
``algorithms.services.baseline``: the baseline is an algorithm, and the algorithms app
sits above scoring (``pyproject.toml``'s layers), so the orchestration lives up there and
calls down into these helpers.

**Redelivery.** Celery's task id is stable across redeliveries, and the run stores the id
of the delivery that claimed it. A message that finds its run ``running`` under its *own*
id is a redelivery after its worker died mid-run (killed, out of memory, or past the hard
time limit): the run is marked ``failed`` with that explanation and is **not** re-run
automatically, because the likeliest cause (AutoGluon exhausting memory) would recur and
take the worker down again in a loop. The organizer re-runs it with one click. A message
that finds the run ``running`` under another id is a duplicate and does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from challenge_platform import jobs
from scoring.baselines.models import LOG_TAIL_BYTES, BaselineRun, BaselineRunStatus
from scoring.baselines.services.queue import BASELINES, WORKER_LOST

logger = logging.getLogger(__name__)

# While running, the heartbeat and log tail are written (and the cancel flag read) this often.
HEARTBEAT_SECONDS = 3.0
_PROGRESS_CHUNK = 64 * 1024


# --- running -------------------------------------------------------------------------------


class BaselineCancelled(Exception):
    """The run was cancelled (or taken away) before the sandbox started."""


class BaselineRunWatch(threading.Event):
    """Reports a running baseline's progress and says when it must stop.

    The sandbox polls :meth:`should_stop` about once a second in the task's own thread;
    every ``HEARTBEAT_SECONDS`` that writes the heartbeat and the new lines of fit.log
    (read from the host side of ``/output``), and reads the cancel flag. It sets itself
    (and so stops the sandbox) when an organizer cancelled the run, or when the run is no
    longer this delivery's (the sweeper failed it meanwhile).
    """

    def __init__(self, *, run_pk: int, token: str, log_path: Path | None = None) -> None:
        super().__init__()
        self.log = _LogTail(log_path, self.line) if log_path is not None else None
        self.run_pk, self.token = run_pk, token
        self.lines: deque[str] = deque()
        self.size = 0
        self.dirty = False
        self.lost = False
        self.last_beat = time.monotonic()

    def line(self, text: str) -> None:
        """``on_progress``: keep the last ``LOG_TAIL_BYTES`` of fit.log."""
        self.lines.append(text)
        self.size += len(text) + 1
        while self.size > LOG_TAIL_BYTES and len(self.lines) > 1:
            self.size -= len(self.lines.popleft()) + 1
        self.dirty = True

    def is_set(self) -> bool:
        if not super().is_set() and time.monotonic() - self.last_beat >= HEARTBEAT_SECONDS:
            self.beat()
        return super().is_set()

    def beat(self) -> None:
        self.last_beat = time.monotonic()
        update: dict[str, Any] = {"heartbeat_at": timezone.now()}
        if self.dirty:
            update["log_tail"] = "\n".join(self.lines)
        try:
            mine = BaselineRun.objects.filter(
                pk=self.run_pk, status=BaselineRunStatus.RUNNING, delivery_id=self.token
            )
            updated = mine.update(**update)
            cancel = updated and mine.filter(cancel_requested=True).exists()
        except SoftTimeLimitExceeded:
            raise
        except Exception:  # the database is briefly away: keep running, try again later
            logger.warning("baseline run %s: heartbeat failed", self.run_pk, exc_info=True)
            return
        self.dirty = self.dirty and not updated
        if not updated:
            self.lost = True
            self.set()
        elif cancel:
            self.set()

    def check(self) -> None:
        """Between copied chunks: beat, and stop the run if it was cancelled."""
        if self.is_set():
            raise BaselineCancelled

    def should_stop(self) -> bool:
        """The sandbox's ``should_stop``: read new log lines, beat, and answer."""
        if self.log is not None:
            self.log.pump()
        return self.is_set()

    def drain(self) -> None:
        """After the run: the log lines written since the last poll."""
        if self.log is not None:
            self.log.pump(final=True)


class _LogTail:
    """Hands complete new lines of a growing file to a callback."""

    def __init__(self, path: Path, callback: Callable[[str], None]) -> None:
        self.path, self.callback = path, callback
        self.offset, self.partial = 0, b""

    def pump(self, *, final: bool = False) -> None:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                while chunk := fh.read(_PROGRESS_CHUNK):
                    self.offset += len(chunk)
                    self.partial += chunk
        except OSError:
            return
        *lines, self.partial = self.partial.split(b"\n")
        if final and self.partial:
            lines.append(self.partial)
            self.partial = b""
        for raw in lines:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self.callback(line)


def baseline_run_claim(
    *, run_pk: int, token: str, delivery_id: str | None, worker: str | None
) -> BaselineRun | None:
    """Move a queued run to ``running`` under a lock, or return None when there is nothing
    to do (gone, finished, cancelled, or held by another delivery)."""

    def worker_lost(run: BaselineRun, now: datetime) -> dict[str, Any]:
        seconds = (now - (run.started_at or now)).total_seconds()
        why = "killed, out of memory, or past the hard time limit"
        logger.error("baseline run %s: its worker was lost; marked failed", run.pk)
        return {"message": WORKER_LOST.format(why=why, seconds=seconds)}

    def claim_fields(run: BaselineRun, now: datetime) -> dict[str, Any]:
        return {
            "heartbeat_at": now,
            "worker_hostname": (worker or socket.gethostname())[:255],
            "worker_pid": os.getpid(),
            "message": "running",
            "log_tail": "",
        }

    run = jobs.job_claim(
        BASELINES,
        pk=run_pk,
        token=token,
        delivery_id=delivery_id,
        on_redelivery=worker_lost,
        fields=claim_fields,
        select_related=("task__track__challenge",),
    )
    if run is not None:
        logger.info("baseline run %s started on %s", run_pk, run.worker_hostname)
    return run
