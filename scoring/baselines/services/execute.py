"""Running a baseline: claim the run, materialize the task folder, run the runner, watch it.

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
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from challenge_platform import jobs
from datasets.models import Task
from scoring.baselines.launch import run_baseline_subprocess
from scoring.baselines.models import LOG_TAIL_BYTES, BaselineRun, BaselineRunStatus
from scoring.baselines.services.outcome import finish, record_outcome
from scoring.baselines.services.queue import BASELINES, WORKER_LOST, worker_soft_time_limit

logger = logging.getLogger(__name__)

# While running, the heartbeat and log tail are written (and the cancel flag read) this often.
HEARTBEAT_SECONDS = 3.0
COPY_CHUNK = 1024 * 1024
# task folder file -> the Task field that stores it (docs/data-contract.md)
TASK_FOLDER_FILES = (
    ("train.parquet", "train_parquet", True),
    ("test.parquet", "test_parquet", True),
    ("images.zip", "images_zip", False),
)


# --- the task folder -----------------------------------------------------------------------


def task_folder_materialize(
    *, task: Task, folder: Path, on_chunk: Callable[[], None] | None = None
) -> Path:
    """Write ``task``'s standardized folder (docs/data-contract.md) for the runner.

    ``task.json`` is the stored task.json (``Task.meta``, with any key it lacks taken from
    the task's fields); the Parquet files and images.zip are copied through Django storage,
    so an object store works too. ``on_chunk`` is called after every copied megabyte.
    """
    folder.mkdir(parents=True, exist_ok=True)
    meta = {**_meta_from_fields(task), **(task.meta or {})}
    encoder = DjangoJSONEncoder(indent=2)
    (folder / "task.json").write_text(encoder.encode(meta), encoding="utf-8")
    for name, field_name, required in TASK_FOLDER_FILES:
        stored = getattr(task, field_name)
        if not stored:
            if required:
                raise FileNotFoundError(f"task {task.slug} has no {name}")
            continue
        with stored.storage.open(stored.name, "rb") as source, open(folder / name, "wb") as out:
            while chunk := source.read(COPY_CHUNK):
                out.write(chunk)
                if on_chunk is not None:
                    on_chunk()
    return folder


def _meta_from_fields(task: Task) -> dict[str, Any]:
    return {
        "slug": task.slug,
        "title": task.title,
        "description": task.description,
        "kind": task.kind,
        "columns": list(task.columns),
        "classes": list(task.classes),
        "primary_metric": task.primary_metric,
        "public_fraction": task.public_fraction,
        "split_seed": task.split_seed,
        "train_rows": task.train_rows,
        "test_rows": task.test_rows,
    }


# --- running -------------------------------------------------------------------------------


class _Cancelled(Exception):
    """The run was cancelled (or taken away) before the runner started."""


class _RunWatch(threading.Event):
    """The launcher's ``cancel_event``, which also reports the run's progress.

    The launcher calls ``is_set()`` several times a second in the task's own thread; every
    ``HEARTBEAT_SECONDS`` that writes the heartbeat and the new log tail, and reads the
    cancel flag. It sets itself (and so stops the runner) when an organizer cancelled the
    run, or when the run is no longer this delivery's (the sweeper failed it meanwhile).
    """

    def __init__(self, *, run_pk: int, token: str) -> None:
        super().__init__()
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
            raise _Cancelled


def baseline_run_execute(
    *, run_pk: int, delivery_id: str | None = None, worker: str | None = None
) -> str:
    """Run baseline ``run_pk`` and record the outcome; return the status it ended in.

    Safe for any message, any number of times: only a ``queued`` run is claimed (under a
    row lock); see the module docstring for a redelivered message.
    """
    token = delivery_id or uuid.uuid4().hex
    run = _claim(run_pk=run_pk, token=token, delivery_id=delivery_id, worker=worker)
    if run is None:
        return "skipped"
    staging = Path(settings.DATA_DIR) / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix=f"baseline-{run.pk}-", dir=staging))
    started = time.monotonic()
    watch = _RunWatch(run_pk=run.pk, token=token)
    try:
        task_dir = task_folder_materialize(
            task=run.task, folder=work_dir / "task", on_chunk=watch.check
        )
        out_dir = work_dir / "out"
        outcome = run_baseline_subprocess(
            task_dir=task_dir,
            out_dir=out_dir,
            time_limit=run.time_limit,
            presets=run.presets,
            hard_timeout=run.hard_timeout,
            cancel_event=watch,
            on_progress=watch.line,
            runner_module=settings.BASELINE_RUNNER_MODULE,
        )
        return record_outcome(run=run, token=token, outcome=outcome, watch=watch, out_dir=out_dir)
    except _Cancelled:
        return finish(
            run=run,
            token=token,
            status=BaselineRunStatus.CANCELLED,
            message="cancelled before the runner started",
            elapsed=0.0,
        )
    except SoftTimeLimitExceeded:
        # The launcher's ``finally`` has already killed the runner's process group.
        return finish(
            run=run,
            token=token,
            status=BaselineRunStatus.TIMED_OUT,
            message=(
                f"stopped by the worker's soft time limit of {worker_soft_time_limit()} s"
                f" after {time.monotonic() - started:.0f} s"
            ),
            elapsed=round(time.monotonic() - started, 3),
            log_tail="\n".join(watch.lines),
        )
    except Exception as exc:
        logger.exception("baseline run %s: internal error", run.pk)
        return finish(
            run=run,
            token=token,
            status=BaselineRunStatus.FAILED,
            message=f"internal error: {type(exc).__name__}: {exc}"[:2000],
            log_tail="\n".join(watch.lines),
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _claim(
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
