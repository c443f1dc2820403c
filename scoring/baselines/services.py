"""Writes of the baselines app: the baseline team, queueing, cancelling, running and sweeping.

Lifecycle of a :class:`BaselineRun` (DESIGN §5)::

    queued -> running -> succeeded | failed | timed_out | cancelled
    queued -> cancelled                       (cancelled before a worker took it)

The database is the source of truth and the broker only a doorbell: a run is published to
the ``baselines`` queue after its row is committed; the sweeper re-publishes a run left
``queued`` by a lost message, and fails a ``running`` run whose worker stopped beating.

**Redelivery.** Celery's task id is stable across redeliveries, and the run stores the id
of the delivery that claimed it. A message that finds its run ``running`` under its *own*
id is a redelivery after its worker died mid-run (killed, out of memory, or past the hard
time limit): the run is marked ``failed`` with that explanation and is **not** re-run
automatically, because the likeliest cause (AutoGluon exhausting memory) would recur and
take the worker down again in a loop. The organizer re-runs it with one click. A message
that finds the run ``running`` under another id is a duplicate and does nothing.

**Submission.** A succeeded run's ``predictions.parquet`` becomes a Submission of the
challenge's baseline team, queued for the normal ``scoring.tasks.score_submission`` task:
it is validated, scored per split and put on the leaderboards exactly like a team's file
(see :func:`_baseline_submission_prepare` for the participant-only checks it skips).
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from challenge_platform.models import Challenge, Team
from datasets.models import Task
from scoring.baselines import outputs
from scoring.baselines.launch import BaselineOutcome, run_baseline_subprocess
from scoring.baselines.models import (
    ACTIVE_STATUSES,
    LOG_TAIL_BYTES,
    BaselineRun,
    BaselineRunStatus,
)
from scoring.models import Submission, SubmissionStatus

logger = logging.getLogger(__name__)

BASELINE_TEAM_NAME = "AutoGluon baseline"
# AutoGluon presets that run on CPU with the model types the runner allows.
PRESETS = (
    "medium_quality",
    "good_quality",
    "high_quality",
    "best_quality",
    "optimize_for_deployment",
    "interpretable",
    "ignore_text",
)
# Seconds the Celery task needs besides the runner: copying the task files in, storing the
# artifacts and the predictions. The runner's hard timeout stays this far below the soft limit.
TASK_OVERHEAD_SECONDS = 90
# While running, the heartbeat and log tail are written (and the cancel flag read) this often.
HEARTBEAT_SECONDS = 3.0
# A running run whose heartbeat is older than this has lost its worker.
RUNNING_STALE_SECONDS = 300
COPY_CHUNK = 1024 * 1024
# task folder file -> the Task field that stores it (docs/data-contract.md)
TASK_FOLDER_FILES = (
    ("train.parquet", "train_parquet", True),
    ("test.parquet", "test_parquet", True),
    ("images.zip", "images_zip", False),
)


class BaselineRunRefused(Exception):
    """A baseline request refused; ``message`` is for the organizer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- limits ------------------------------------------------------------------------------


def worker_hard_time_limit() -> int:
    """Celery's hard limit of ``run_baseline``: the pool process is killed at this point."""
    return int(settings.BASELINE_HARD_TIME_LIMIT)


def worker_soft_time_limit() -> int:
    """Celery's soft limit: the task gets ``SoftTimeLimitExceeded`` and kills the runner."""
    return worker_hard_time_limit() - 60


def max_hard_timeout() -> int:
    """The longest wall-clock budget a run's runner may get inside the soft limit."""
    return worker_soft_time_limit() - TASK_OVERHEAD_SECONDS


def default_hard_timeout(time_limit: int) -> int:
    """The runner's wall-clock budget for a fit budget: twice it plus two minutes for the
    imports, features, prediction and AutoGluon's overshoot, capped by the worker's limits."""
    return min(2 * time_limit + 120, max_hard_timeout())


def queued_stale_seconds() -> int:
    """A run ``queued`` this long gets its message published again. The ``baselines`` queue
    runs one job at a time, so a run may legitimately wait behind another one; a duplicate
    message is harmless (the claim finds the run taken and does nothing)."""
    return worker_hard_time_limit() + 60


# --- the baseline team ---------------------------------------------------------------------


def baseline_team_get_or_create(*, challenge: Challenge) -> Team:
    """The challenge's built-in baseline team (``is_baseline``), created when missing.

    The database allows one baseline team per challenge; a participant team that took the
    name first leaves the baseline team a suffixed name.
    """
    team = Team.objects.filter(challenge=challenge, is_baseline=True).first()
    if team is not None:
        return team
    for name in (BASELINE_TEAM_NAME, f"{BASELINE_TEAM_NAME} (built-in)"):
        try:
            with transaction.atomic():
                return Team.objects.create(challenge=challenge, name=name, is_baseline=True)
        except IntegrityError:
            team = Team.objects.filter(challenge=challenge, is_baseline=True).first()
            if team is not None:  # created concurrently
                return team
    raise BaselineRunRefused(
        f"The challenge '{challenge.slug}' has teams named '{BASELINE_TEAM_NAME}' and"
        f" '{BASELINE_TEAM_NAME} (built-in)'; rename one so the baseline team can be created."
    )


# --- queueing and cancelling -------------------------------------------------------------


def baseline_run_queue(
    *,
    task: Task,
    presets: str | None = None,
    time_limit: int | None = None,
    hard_timeout: int | None = None,
) -> BaselineRun:
    """Queue an AutoGluon baseline for ``task``; published to the ``baselines`` queue on commit.

    ``presets`` and ``time_limit`` (AutoGluon's fit budget, seconds) default to the
    ``BASELINE_PRESETS`` and ``BASELINE_TIME_LIMIT`` settings; ``hard_timeout`` bounds the
    whole runner process (default :func:`default_hard_timeout`). Raises
    :class:`BaselineRunRefused` when the task already has a queued or running baseline, or
    when the limits don't fit the worker's.
    """
    presets = presets or settings.BASELINE_PRESETS
    time_limit = int(time_limit if time_limit is not None else settings.BASELINE_TIME_LIMIT)
    _check_limits(presets=presets, time_limit=time_limit, hard_timeout=hard_timeout)
    hard_timeout = int(hard_timeout or default_hard_timeout(time_limit))
    baseline_team_get_or_create(challenge=task.track.challenge)
    try:
        with transaction.atomic():
            active = _active_run(task_id=task.pk)
            if active is not None:
                raise BaselineRunRefused(_already_active(task, active))
            run = BaselineRun.objects.create(
                task=task,
                presets=presets,
                time_limit=time_limit,
                hard_timeout=hard_timeout,
                status=BaselineRunStatus.QUEUED,
                status_changed_at=timezone.now(),
            )
            pk = run.pk
            transaction.on_commit(lambda: _publish_run(run_pk=pk))
    except IntegrityError:
        # Another request queued one since the check (the database's one-active-run rule).
        active = _active_run(task_id=task.pk)
        if active is None:
            raise
        raise BaselineRunRefused(_already_active(task, active)) from None
    logger.info("baseline run %s queued for %s (%s, %s s)", run.pk, task.slug, presets, time_limit)
    return run


def _check_limits(*, presets: str, time_limit: int, hard_timeout: int | None) -> None:
    if presets not in PRESETS:
        raise BaselineRunRefused(
            f"Unknown AutoGluon presets '{presets}'; choose one of {', '.join(PRESETS)}."
        )
    longest = max_hard_timeout()
    if time_limit < 1:
        raise BaselineRunRefused("The time limit must be at least 1 second.")
    if time_limit >= longest:
        raise BaselineRunRefused(
            f"A time limit of {time_limit} s does not fit the baseline worker's limits (the"
            f" whole run must end within {longest} s); choose less, or raise"
            " BASELINE_TIME_LIMIT, which raises the worker's limits."
        )
    if hard_timeout is not None and not time_limit < hard_timeout <= longest:
        raise BaselineRunRefused(
            f"The hard timeout must be above the time limit ({time_limit} s) and at most"
            f" {longest} s."
        )


def _active_run(*, task_id: int) -> BaselineRun | None:
    return BaselineRun.objects.filter(task_id=task_id, status__in=ACTIVE_STATUSES).first()


def _already_active(task: Task, run: BaselineRun) -> str:
    return (
        f"The task '{task.slug}' already has a baseline {run.get_status_display().lower()}"
        f" (run #{run.pk}); wait for it to finish or cancel it first."
    )


def _publish_run(*, run_pk: int) -> None:
    """Ring the doorbell. A lost message is not fatal: the sweeper re-publishes the run."""
    from scoring.baselines.tasks import run_baseline

    try:
        run_baseline.apply_async(
            kwargs={"run_pk": run_pk},
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )
    except Exception:
        logger.exception("could not queue baseline run %s; the sweeper will re-queue it", run_pk)


@dataclass(frozen=True)
class BaselineQueueReport:
    """What :func:`baselines_queue` did: the runs it queued and, per skipped task, why."""

    queued: list[BaselineRun]
    skipped: list[tuple[Task, str]]


def baselines_queue(
    *,
    tasks: Iterable[Task],
    presets: str | None = None,
    time_limit: int | None = None,
    skip_succeeded: bool = True,
) -> BaselineQueueReport:
    """Queue a baseline for each of ``tasks`` that has none queued or running and, with
    ``skip_succeeded``, none that succeeded. Raises :class:`BaselineRunRefused` for limits
    that fit no task; a task refused on its own is reported in ``skipped``."""
    presets = presets or settings.BASELINE_PRESETS
    time_limit = int(time_limit if time_limit is not None else settings.BASELINE_TIME_LIMIT)
    _check_limits(presets=presets, time_limit=time_limit, hard_timeout=None)  # once for all
    queued: list[BaselineRun] = []
    skipped: list[tuple[Task, str]] = []
    for task in tasks:
        if skip_succeeded:
            done = (
                BaselineRun.objects.filter(task=task, status=BaselineRunStatus.SUCCEEDED)
                .order_by("-finished_at", "-pk")
                .first()
            )
            if done is not None:
                skipped.append((task, f"has a succeeded baseline (run #{done.pk})"))
                continue
        try:
            queued.append(baseline_run_queue(task=task, presets=presets, time_limit=time_limit))
        except BaselineRunRefused as exc:
            skipped.append((task, exc.message))
    return BaselineQueueReport(queued=queued, skipped=skipped)


def baselines_queue_for_challenge(*, challenge: Challenge) -> list[BaselineRun]:
    """Queue the baseline of every task of ``challenge`` without a succeeded or an active
    run, with the default presets and time limit. Idempotent (``load_demo`` calls it on
    every start)."""
    tasks = Task.objects.select_related("track__challenge").filter(track__challenge=challenge)
    report = baselines_queue(tasks=tasks.order_by("track__order", "order", "slug"))
    return report.queued


def baseline_run_again(*, run: BaselineRun) -> BaselineRun:
    """Queue a new run of ``run``'s task with the same presets and time limit."""
    return baseline_run_queue(task=run.task, presets=run.presets, time_limit=run.time_limit)


def baseline_run_cancel(*, run: BaselineRun) -> BaselineRun:
    """Cancel ``run``: a queued run becomes ``cancelled`` at once; a running one is flagged,
    and its task stops the runner (its whole process group) within a few seconds.

    Raises :class:`BaselineRunRefused` when the run has already finished.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = BaselineRun.objects.select_for_update().get(pk=run.pk)
        if locked.status == BaselineRunStatus.QUEUED:
            locked.status = BaselineRunStatus.CANCELLED
            locked.cancel_requested = True
            locked.message = "cancelled before a worker started it"
            locked.finished_at = now
            locked.status_changed_at = now
            locked.save(
                update_fields=[
                    "status",
                    "cancel_requested",
                    "message",
                    "finished_at",
                    "status_changed_at",
                ]
            )
        elif locked.status == BaselineRunStatus.RUNNING:
            if not locked.cancel_requested:
                locked.cancel_requested = True
                locked.save(update_fields=["cancel_requested"])
        else:
            raise BaselineRunRefused(
                f"Run #{locked.pk} has already finished ({locked.get_status_display().lower()})."
            )
    logger.info("baseline run %s: cancel requested (%s)", locked.pk, locked.status)
    return locked


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
        )
        return _record_outcome(run=run, token=token, outcome=outcome, watch=watch, out_dir=out_dir)
    except _Cancelled:
        return _finish(
            run=run,
            token=token,
            status=BaselineRunStatus.CANCELLED,
            message="cancelled before the runner started",
            elapsed=0.0,
        )
    except SoftTimeLimitExceeded:
        # The launcher's ``finally`` has already killed the runner's process group.
        return _finish(
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
        return _finish(
            run=run,
            token=token,
            status=BaselineRunStatus.FAILED,
            message=f"internal error: {type(exc).__name__}: {exc}"[:2000],
            log_tail="\n".join(watch.lines),
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


WORKER_LOST = (
    "The worker running this baseline stopped unexpectedly ({why}) after {seconds:.0f} s."
    " It was not retried automatically; use 'Run baseline again'."
)


def _claim(
    *, run_pk: int, token: str, delivery_id: str | None, worker: str | None
) -> BaselineRun | None:
    """Move a queued run to ``running`` under a lock, or return None when there is nothing
    to do (gone, finished, cancelled, or held by another delivery)."""
    now = timezone.now()
    with transaction.atomic():
        run = BaselineRun.objects.select_for_update().filter(pk=run_pk).first()
        if run is None:
            logger.warning("baseline run %s no longer exists", run_pk)
            return None
        if run.status == BaselineRunStatus.RUNNING:
            if delivery_id and run.delivery_id == delivery_id:
                seconds = (now - (run.started_at or now)).total_seconds()
                why = "killed, out of memory, or past the hard time limit"
                _set_final(
                    run,
                    now=now,
                    status=BaselineRunStatus.FAILED,
                    message=WORKER_LOST.format(why=why, seconds=seconds),
                )
                logger.error("baseline run %s: its worker was lost; marked failed", run_pk)
            else:
                logger.info("baseline run %s is held by another delivery", run_pk)
            return None
        if run.status != BaselineRunStatus.QUEUED:
            logger.info("baseline run %s is already %s", run_pk, run.status)
            return None
        run.status = BaselineRunStatus.RUNNING
        run.status_changed_at = now
        run.started_at = now
        run.heartbeat_at = now
        run.finished_at = None
        run.delivery_id = token
        run.worker_hostname = (worker or socket.gethostname())[:255]
        run.worker_pid = os.getpid()
        run.message = "running"
        run.log_tail = ""
        run.save(
            update_fields=[
                "status",
                "status_changed_at",
                "started_at",
                "heartbeat_at",
                "finished_at",
                "delivery_id",
                "worker_hostname",
                "worker_pid",
                "message",
                "log_tail",
            ]
        )
    logger.info("baseline run %s started on %s", run_pk, run.worker_hostname)
    return BaselineRun.objects.select_related("task__track__challenge").get(pk=run_pk)


def _set_final(run: BaselineRun, *, now: datetime, status: str, message: str) -> None:
    """Inside a transaction holding ``run``'s lock: end it with ``status``."""
    run.status = status
    run.message = message
    run.finished_at = now
    run.status_changed_at = now
    run.delivery_id = ""
    run.save(update_fields=["status", "message", "finished_at", "status_changed_at", "delivery_id"])


_STATUS = {
    "succeeded": BaselineRunStatus.SUCCEEDED,
    "failed": BaselineRunStatus.FAILED,
    "timed_out": BaselineRunStatus.TIMED_OUT,
    "cancelled": BaselineRunStatus.CANCELLED,
}


def _record_outcome(
    *, run: BaselineRun, token: str, outcome: BaselineOutcome, watch: _RunWatch, out_dir: Path
) -> str:
    """Store the artifacts and the outcome; for a success, submit the predictions."""
    result = outputs.read_json(outcome.result) if outcome.result else {}
    status = _STATUS[outcome.status]
    message = outcome.message
    if status == BaselineRunStatus.CANCELLED and watch.lost:
        message = "stopped: the run was taken over (the sweeper found no heartbeat)"
    written: list[tuple[Any, str]] = []
    fields: dict[str, Any] = {
        "elapsed": outcome.elapsed,
        "runner_pid": outcome.pid,
        "result": _json_safe(result),
        "validation_score": _float_or_none(result.get("validation_score")),
        "best_model": str(result.get("best_model") or "")[:200],
        "log_tail": _log_tail(outcome, out_dir=out_dir),
    }
    for path, field_name in ((outcome.leaderboard, "leaderboard_csv"), (outcome.log, "fit_log")):
        if path is None:
            continue
        stored = getattr(run, field_name)
        with open(path, "rb") as handle:
            stored.save(path.name, File(handle), save=False)
        written.append((stored.storage, stored.name))
        fields[field_name] = stored.name

    submission: Submission | None = None
    if status == BaselineRunStatus.SUCCEEDED and outcome.predictions is not None:
        submission = _baseline_submission_prepare(run=run, predictions=outcome.predictions)
        written.append((submission.file.storage, submission.file.name))
        score = fields["validation_score"]
        message = (
            f"AutoGluon {run.presets}, {outcome.elapsed:.0f} s; best model"
            f" {fields['best_model'] or '?'}"
            + (f", validation {result.get('eval_metric')} {score:.4f}" if score is not None else "")
            + "; predictions submitted as the baseline team"
        )
    return _finish(
        run=run,
        token=token,
        status=status,
        message=message,
        submission=submission,
        written=written,
        **fields,
    )


def _finish(
    *,
    run: BaselineRun,
    token: str,
    status: str,
    message: str,
    submission: Submission | None = None,
    written: list[tuple[Any, str]] | None = None,
    **fields: Any,
) -> str:
    """Leave ``running`` if this delivery still holds the run; else drop what it wrote."""
    now = timezone.now()
    with transaction.atomic():
        locked = (
            BaselineRun.objects.select_for_update()
            .filter(pk=run.pk, status=BaselineRunStatus.RUNNING, delivery_id=token)
            .first()
        )
        if locked is not None:
            if submission is not None:
                submission.status = SubmissionStatus.QUEUED
                submission.status_changed_at = now
                submission.save()
                fields["submission"] = submission
                submission_pk = submission.pk
                transaction.on_commit(lambda: _publish_scoring(submission_pk=submission_pk))
            BaselineRun.objects.filter(pk=run.pk).update(
                status=status,
                message=message,
                finished_at=now,
                status_changed_at=now,
                heartbeat_at=now,
                delivery_id="",
                **fields,
            )
    if locked is None:
        logger.warning("baseline run %s was taken over; its outcome is dropped", run.pk)
        for storage, name in written or []:
            _delete_file(storage, name)
        return "superseded"
    logger.info("baseline run %s %s: %s", run.pk, status, message)
    return status


def _baseline_submission_prepare(*, run: BaselineRun, predictions: Path) -> Submission:
    """The baseline team's Submission of ``predictions``, file stored, row not yet saved.

    This is ``scoring.services.submission_create`` minus the checks that only make sense for
    participants, which the baseline team must bypass: it has no members (so no uploading
    user), it submits whether or not the challenge is open (baselines are computed before
    it opens) and it has no daily limit. Everything that decides the score is shared: the
    stored file goes through the same storage and field, the row is queued the same way
    (``queued``, published on commit to ``score_submission``), and the worker validates and
    scores it like any team's file; the submissions sweeper re-queues it if the message is
    lost.
    """
    task = run.task
    team = baseline_team_get_or_create(challenge=task.track.challenge)
    submission = Submission(
        task=task,
        team=team,
        uploaded_by=None,
        note=f"AutoGluon baseline run #{run.pk} ({run.presets}, {run.time_limit} s)",
        original_name=outputs.PREDICTIONS,
        file_format="parquet",
        file_size=predictions.stat().st_size,
    )
    with open(predictions, "rb") as handle:
        name = f"baseline-{run.pk}-{uuid.uuid4().hex[:8]}.parquet"
        submission.file.save(name, File(handle), save=False)
    return submission


def _publish_scoring(*, submission_pk: int) -> None:
    from scoring.tasks import score_submission

    try:
        score_submission.apply_async(
            kwargs={"submission_pk": submission_pk},
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )
    except Exception:
        logger.exception(
            "could not queue baseline submission %s; the sweeper will re-queue it", submission_pk
        )


def _log_tail(outcome: BaselineOutcome, *, out_dir: Path) -> str:
    """The last ~4 KB of fit.log; for a failure, the end of the runner's own output too
    (Python warnings and the one-line reason, which may come before fit.log exists)."""
    tail = _file_tail(outcome.log, LOG_TAIL_BYTES) if outcome.log else ""
    if outcome.status == "failed":
        runner = _file_tail(out_dir / outputs.RUNNER_OUTPUT, LOG_TAIL_BYTES // 4)
        if runner:
            tail = f"{tail}\n--- runner output ---\n{runner}".strip()
    return tail


def _file_tail(path: Path, size: int) -> str:
    """The last ``size`` bytes of ``path``, from a line start when the file is longer."""
    try:
        with open(path, "rb") as handle:
            end = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, end - size))
            data = handle.read()
    except OSError:
        return ""
    if end > size and b"\n" in data:
        data = data.split(b"\n", 1)[1]
    return data.decode("utf-8", "replace").strip()


def _float_or_none(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _json_safe(value: Any) -> Any:
    """result.json without NaN or infinity (PostgreSQL's jsonb refuses them)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float):
        return _float_or_none(value)
    return value


def _delete_file(storage: Any, name: str | None) -> None:
    if not name:
        return
    try:
        storage.delete(name)
    except Exception:  # cleanup only
        logger.warning("could not delete %s", name, exc_info=True)


# --- the sweeper ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BaselineSweepReport:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def baseline_runs_sweep(*, now: datetime | None = None) -> BaselineSweepReport:
    """Re-publish runs stuck ``queued`` (a lost message) and end runs whose worker stopped
    beating while ``running`` (killed with its whole host, say): ``failed``, or
    ``cancelled`` when a cancel had been requested."""
    now = now or timezone.now()
    queued_cutoff = now - timedelta(seconds=queued_stale_seconds())
    beat_cutoff = now - timedelta(seconds=RUNNING_STALE_SECONDS)
    started_cutoff = now - timedelta(seconds=worker_hard_time_limit() + 60)
    stale_queued = Q(status=BaselineRunStatus.QUEUED) & (
        Q(status_changed_at__lt=queued_cutoff) | Q(status_changed_at__isnull=True)
    )
    stale_running = Q(status=BaselineRunStatus.RUNNING) & (
        Q(heartbeat_at__lt=beat_cutoff)
        | Q(heartbeat_at__isnull=True)
        | Q(started_at__lt=started_cutoff)
    )
    report = BaselineSweepReport()
    for pk in BaselineRun.objects.filter(stale_queued).order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            run = BaselineRun.objects.select_for_update().filter(stale_queued, pk=pk).first()
            if run is None:
                continue
            run.status_changed_at = now
            run.save(update_fields=["status_changed_at"])
            transaction.on_commit(lambda pk=pk: _publish_run(run_pk=pk))
            report.requeued.append(pk)
    for pk in BaselineRun.objects.filter(stale_running).order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            run = BaselineRun.objects.select_for_update().filter(stale_running, pk=pk).first()
            if run is None:
                continue
            seconds = (now - (run.started_at or now)).total_seconds()
            quiet = (now - (run.heartbeat_at or run.started_at or now)).total_seconds()
            why = f"no heartbeat for {quiet:.0f} s"
            if run.cancel_requested:
                status = BaselineRunStatus.CANCELLED
                message = f"cancelled; its worker was lost ({why})"
            else:
                status = BaselineRunStatus.FAILED
                message = WORKER_LOST.format(why=why, seconds=seconds)
            _set_final(run, now=now, status=status, message=message)
            report.failed.append(pk)
    if report.requeued or report.failed:
        logger.warning("baseline sweeper re-queued %s and ended %s", report.requeued, report.failed)
    return report
