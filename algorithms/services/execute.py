"""The one run pipeline: claim -> ``/task`` folder -> sandbox -> output -> outcome.

Every run goes through :func:`algorithm_run_execute`, whatever its profile
(:mod:`algorithms.services.profiles`), which decides its limits (stored on the row when it
was queued), its environment, what of its output is kept, and its outcome.

The sandbox's ``/task`` is written by :mod:`algorithms.services.taskfolder` (exactly what a
participant may download; ``test.parquet`` in row groups). The output is a stranger's
files (:mod:`algorithms.services.output`): each one opened without following links, only
when it is a regular file, size-capped, and the predictions read by the uploads' bounded
reader in a process of its own before anything else.

**Redelivery.** Celery's task id is stable across redeliveries, and the run stores the
delivery that claimed it. A message that finds its run ``running`` under its *own* id is a
redelivery after its worker died mid-run: the run starts again while the profile allows
another attempt, and fails with the profile's "worker lost" message otherwise. A message
that finds the run ``running`` under another id is a duplicate and does nothing.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import stat
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import File

from algorithms.core import ArchiveInvalid, extract_archive
from algorithms.models import AlgorithmRun, AlgorithmVersion
from algorithms.sandbox import (
    SandboxBackend,
    SandboxJob,
    SandboxLimits,
    SandboxResult,
    SandboxUnavailable,
    default_backend,
)
from algorithms.sandbox.base import LOG_TAIL_BYTES
from algorithms.sandbox.ledger import MemoryBudgetExceeded
from algorithms.services.common import archive_limits, memory_ledger
from algorithms.services.outcome import Ending, fail_run
from algorithms.services.output import (
    OutputReadCancelled,
    OutputRefused,
    output_copy,
    predictions_read,
)
from algorithms.services.profiles import RunProfile, profile_named
from algorithms.services.taskfolder import task_folder_write
from algorithms.services.watch import RunCancelled, RunWatch
from challenge_platform import jobs

logger = logging.getLogger(__name__)

COPY_CHUNK = 1024 * 1024
# What of a run's other output is read at most: its result.json, and each kept file.
RESULT_MAX_BYTES = 1024 * 1024
ARTIFACT_MAX_BYTES = 50 * 1024 * 1024
INTERNAL_ERROR = (
    "An internal error stopped the run (not the algorithm's fault); the organizers have been "
    "notified."
)


class RunFailed(Exception):
    """The run ends ``failed`` with this message (the algorithm's or its output's fault)."""


def algorithm_run_execute(
    *,
    run_pk: int,
    delivery_id: str | None = None,
    worker: str | None = None,
    backend: SandboxBackend | None = None,
    task_name: str | None = None,
) -> str:
    """Run ``run_pk`` once; return the status it ended in (or why nothing was done).

    Safe for any message, any number of times: only the delivery holding the run's claim
    may finish it, so a run never completes twice. ``task_name``: the Celery task that got
    the message; a run of a profile routed to another task (another queue, other time
    limits) is left to that one.
    """
    profile = _profile_for(run_pk=run_pk, task_name=task_name)
    if profile is None:
        return "skipped"
    token = delivery_id or uuid.uuid4().hex
    run = _claim(profile, run_pk=run_pk, token=token, delivery_id=delivery_id, worker=worker)
    if run is None:
        return "skipped"
    staging = Path(settings.DATA_DIR) / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"algorithm-run-{run.pk}-", dir=staging))
    output = work / "output"
    live_log = output / profile.live_log if profile.live_log else None
    watch = RunWatch(run_pk=run.pk, token=token, log_path=live_log)
    ending = Ending(run=run, token=token, kind=profile.kind)
    started = time.monotonic()
    try:
        unpack_version(run.version, work / "code")
        task_dir = task_folder_write(run.task, work / "task", on_chunk=watch.check)
        limits = SandboxLimits.from_dict(run.limits or {})
        job = SandboxJob(
            code_dir=work / "code",
            entrypoint=run.version.entrypoint,
            task_dir=task_dir,
            output_dir=output,
            limits=limits,
            environment=profile.environment(run),
        )
        reserve = limits.memory_mb + limits.tmp_mb
        with memory_ledger().reserve(reserve, should_stop=watch.should_stop) as room:
            if not room:
                raise RunCancelled
            backend = backend or default_backend()
            result = backend.run(job, should_stop=watch.should_stop)
        watch.drain()
        return _conclude(profile, ending, result, backend, output, watch)
    except RunCancelled:
        return fail_run(ending, "cancelled before the sandbox started", cancelled=True)
    except MemoryBudgetExceeded as exc:
        return fail_run(ending, str(exc))
    except SoftTimeLimitExceeded:  # the sandbox has killed its process group on the way out
        seconds = time.monotonic() - started
        return fail_run(
            ending,
            f"stopped by the worker's time limit ({profile.soft_time_limit()} s) after "
            f"{seconds:.0f} s",
            limit_hit="wall_seconds",
            seconds=round(seconds, 3),
            log_tail="\n".join(watch.lines),
        )
    except RunFailed as exc:
        return fail_run(ending, str(exc))
    except Exception as exc:
        if isinstance(exc, SandboxUnavailable):
            logger.error("run %s: the sandbox is unavailable: %s", run.pk, exc)
        else:
            logger.exception("run %s: internal error", run.pk)
        error = INTERNAL_ERROR
        if profile.internal_detail:
            error += f" ({type(exc).__name__}: {exc})"[:2000]
        return jobs.job_retry_or_fail(
            ending.kind,
            job=run,
            token=token,
            fail=lambda: fail_run(ending, error, log_tail="\n".join(watch.lines)),
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _profile_for(*, run_pk: int, task_name: str | None) -> RunProfile | None:
    name = AlgorithmRun.objects.filter(pk=run_pk).values_list("profile", flat=True).first()
    if name is None:
        logger.warning("run %s no longer exists", run_pk)
        return None
    try:
        profile = profile_named(name)
    except LookupError:
        logger.error("run %s has the unknown profile %r; left alone", run_pk, name)
        return None
    if task_name is not None and task_name != profile.task_name:
        logger.error(
            "run %s (%s) reached %s instead of %s; left alone",
            run_pk,
            name,
            task_name,
            profile.task_name,
        )
        return None
    return profile


def _claim(
    profile: RunProfile, *, run_pk: int, token: str, delivery_id: str | None, worker: str | None
) -> AlgorithmRun | None:
    def worker_lost(run: AlgorithmRun, now: datetime) -> dict[str, Any]:
        why = "killed, out of memory, or past the worker's time limit"
        return {"error": lost_message(profile, run, now, why)}

    def claim_fields(run: AlgorithmRun, now: datetime) -> dict[str, Any]:
        return {
            "heartbeat_at": now,
            "worker_hostname": (worker or socket.gethostname())[:255],
            "worker_pid": os.getpid(),
            "runner_pid": None,
            "error": "",
            "log_tail": "",
            "limit_hit": "",
        }

    run = jobs.job_claim(
        profile.kind,
        pk=run_pk,
        token=token,
        delivery_id=delivery_id,
        exhausted=worker_lost,
        fields=claim_fields,
        select_related=("version__algorithm__team", "task__track__challenge", "started_by"),
    )
    if run is not None:
        logger.info("%s %s started on %s", profile.kind.label, run_pk, run.worker_hostname)
    return run


def lost_message(profile: RunProfile, run: AlgorithmRun, now: datetime, why: str) -> str:
    """The profile's "worker lost" failure for ``run``, saying ``why``."""
    seconds = (now - (run.started_at or now)).total_seconds()
    return profile.worker_lost.format(why=why, seconds=seconds, attempts=run.attempts)


def unpack_version(version: AlgorithmVersion, dest: Path) -> None:
    """Extract ``version``'s stored archive into ``dest`` (checked again on the way)."""
    archive = version.archive
    if not archive:
        raise RunFailed(f"{version} has no stored archive to run")
    local = dest.parent / "archive.zip"
    with archive.storage.open(archive.name, "rb") as source, open(local, "wb") as out:
        shutil.copyfileobj(source, out, COPY_CHUNK)
    try:
        extract_archive(local, dest, limits=archive_limits(), label="the archive")
    except ArchiveInvalid as exc:  # validated at upload; only a changed rule gets here
        raise RunFailed(str(exc)) from exc
    finally:
        local.unlink(missing_ok=True)


# --- the output ------------------------------------------------------------------------------


def predictions_file(
    output: Path,
    cap: int,
    *,
    test_rows: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Path:
    """The one predictions file, opened as a regular file only, copied out of the sandbox's
    folder and read by the uploads' bounded reader in a process of its own
    (:mod:`algorithms.services.output`); :class:`RunFailed` with the reason otherwise."""
    try:
        return predictions_read(output, cap=cap, test_rows=test_rows, should_stop=should_stop)
    except OutputRefused as exc:
        raise RunFailed(str(exc)) from exc


def _conclude(
    profile: RunProfile,
    ending: Ending,
    result: SandboxResult,
    backend: SandboxBackend,
    output: Path,
    watch: RunWatch,
) -> str:
    """Record the sandbox's result and what the profile keeps of the output, then end the
    run: cancelled, failed (naming the limit hit), or the profile's outcome."""
    run = ending.run
    written: list[str] = []
    ending.fields.update(
        backend=backend.name,
        seconds=result.seconds,
        cpu_seconds=result.cpu_seconds,
        peak_memory_mb=result.peak_memory_mb,
        log_bytes=result.log_bytes,
        log_tail=_log_tail(profile, result, output),
        exit_code=result.exit_code,
        limit_hit=result.limit_hit or "",
        runner_pid=result.pid,
        **_kept_outputs(profile, run, output, written),
    )
    status = "superseded"
    try:
        if result.cancelled:  # by an organizer or the team; taken over: not ours to end
            status = fail_run(
                ending, f"cancelled while running (after {result.seconds:.0f} s)", cancelled=True
            )
        elif not result.ok:
            status = fail_run(ending, result.message)
        else:
            cap = min(run.limits.get("output_mb", 200) * 1024 * 1024, settings.SUBMISSION_MAX_BYTES)
            try:
                predictions = predictions_file(
                    output, cap, test_rows=run.task.test_rows, should_stop=watch.should_stop
                )
            except OutputReadCancelled as exc:
                status = fail_run(ending, str(exc), cancelled=True)
            except RunFailed as exc:
                status = fail_run(ending, str(exc))
            else:
                status = profile.finish(ending, predictions)
    finally:
        if status == "superseded":
            storage = AlgorithmRun._meta.get_field("predictions").storage
            for name in written:
                jobs.delete_file_quietly(storage, name)
    return status


def _kept_outputs(
    profile: RunProfile, run: AlgorithmRun, output: Path, written: list[str]
) -> dict[str, Any]:
    """The profile's result file (a JSON object, else {}) and kept files, stored privately
    under the run's name; a missing, odd or oversized one is skipped (and logged)."""
    kept: dict[str, Any] = {"result": {}, "artifacts": {}}
    if profile.result_file:
        kept["result"] = _json_object(output, profile.result_file)
    storage = AlgorithmRun._meta.get_field("predictions").storage
    for name in profile.keep:
        try:
            copy = output_copy(output, name, ARTIFACT_MAX_BYTES)
        except OutputRefused as exc:
            logger.warning("run %s: %s; not kept", run.pk, exc)
            continue
        if copy is None:
            continue
        with open(copy, "rb") as handle:
            stored = storage.save(
                f"algorithm-runs/{run.task.slug}/run-{run.pk}/{name}", File(handle, name=name)
            )
        written.append(stored)
        kept["artifacts"][name] = stored
    return kept


def _json_object(output: Path, name: str) -> dict[str, Any]:
    try:
        copy = output_copy(output, name, RESULT_MAX_BYTES)
        data = json.loads(copy.read_text(encoding="utf-8")) if copy else {}
    except (OutputRefused, OSError, ValueError) as exc:
        logger.warning("/output/%s could not be read: %s", name, exc)
        return {}
    return jobs.json_finite(data) if isinstance(data, dict) else {}


def _log_tail(profile: RunProfile, result: SandboxResult, output: Path) -> str:
    """The run's output (stdout and stderr); for a profile with a live log, that log's end,
    and for a failure the output's end after it (the one-line reason may come first)."""
    if profile.live_log is None:
        return result.log_tail
    tail = file_tail(output / profile.live_log, LOG_TAIL_BYTES)
    if not result.ok and result.log_tail.strip():
        output_tail = result.log_tail[-LOG_TAIL_BYTES // 4 :].strip()
        tail = f"{tail}\n--- output ---\n{output_tail}".strip()
    return tail


def file_tail(path: Path, size: int) -> str:
    """The last ``size`` bytes of a regular file ``path`` (never through a link), from a line
    start when the file is longer; "" when there is no such file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return ""
        end = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, end - size))
        data = handle.read(size)
    if end > size and b"\n" in data:
        data = data.split(b"\n", 1)[1]
    return data.decode("utf-8", "replace").strip()
