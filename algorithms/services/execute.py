"""One algorithm run: claim it, run the version in the sandbox, turn its output into a result.

The sandbox's ``/task`` is written by :mod:`algorithms.services.taskfolder` (exactly what a
participant may download; ``test.parquet`` in row groups). The output is a stranger's
file: opened without following links, size-capped, and read by the same strict reader as
an upload before anything else.

A team's run becomes the team's submission through ``scoring.services.submission_create``
with the user who started it, so it is checked (team, open dates, daily limit), stored,
scored and ranked exactly like an upload, in the transaction that finishes the run. An
organizer's run on another team's algorithm is scored here, for the transfer matrix only.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile

from algorithms.core import ArchiveInvalid, extract_archive
from algorithms.models import AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion
from algorithms.sandbox import (
    SandboxBackend,
    SandboxJob,
    SandboxLimits,
    SandboxResult,
    SandboxUnavailable,
    default_backend,
)
from algorithms.sandbox.ledger import MemoryBudgetExceeded
from algorithms.services.common import ALGORITHM_RUN, archive_limits, memory_ledger
from algorithms.services.output import OutputReadCancelled, OutputRefused, predictions_read
from algorithms.services.taskfolder import task_folder_write
from challenge_platform import jobs
from challenge_platform.rules import RulesNotAccepted
from scoring.core import SubmissionInvalid, save_predictions, score_file
from scoring.services import SubmissionRefused, finite_metrics, submission_create
from scoring.solutions import solution_for_task

logger = logging.getLogger(__name__)

COPY_CHUNK = 1024 * 1024
INTERNAL_ERROR = (
    "An internal error stopped the run (not the algorithm's fault); the organizers have been "
    "notified."
)


class RunFailed(Exception):
    """The run ends ``failed`` with this message (the algorithm's or its output's fault)."""


def algorithm_run_execute(
    *, run_pk: int, delivery_id: str | None = None, backend: SandboxBackend | None = None
) -> str:
    """Run ``run_pk`` once; return the status it ended in (or why nothing was done).

    Safe for any message, any number of times: only the delivery holding the run's claim
    may finish it, so a run never completes twice. A redelivery after a dead worker runs it
    again from scratch while attempts are left.
    """
    token = delivery_id or uuid.uuid4().hex
    run = jobs.job_claim(
        ALGORITHM_RUN,
        pk=run_pk,
        token=token,
        delivery_id=delivery_id,
        exhausted=lambda run, now: {"error": INTERNAL_ERROR},
        fields=lambda run, now: {"error": "", "log_tail": "", "limit_hit": ""},
        select_related=("version__algorithm__team", "task__track__challenge", "started_by"),
    )
    if run is None:
        return "skipped"
    backend = backend or default_backend()
    limits = SandboxLimits.from_dict(run.limits or {})
    staging = Path(settings.DATA_DIR) / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"algorithm-run-{run.pk}-", dir=staging))
    try:
        code = work / "code"
        unpack_version(run.version, code)
        task_dir = task_folder_write(run.task, work / "task")
        job = SandboxJob(
            code_dir=code,
            entrypoint=run.version.entrypoint,
            task_dir=task_dir,
            output_dir=work / "output",
            limits=limits,
        )
        stop = lambda: _should_stop(run.pk, token)  # noqa: E731
        try:
            with memory_ledger().reserve(
                limits.memory_mb + limits.tmp_mb, should_stop=stop
            ) as room:
                if not room:
                    return _fail(run, token, "cancelled while waiting for memory", cancelled=True)
                result = backend.run(job, should_stop=stop)
        except MemoryBudgetExceeded as exc:
            raise RunFailed(str(exc)) from exc
        return _finish(run=run, token=token, result=result, backend=backend, output=work / "output")
    except SoftTimeLimitExceeded:
        return _fail(
            run,
            token,
            f"stopped by the worker's time limit ({settings.ALGORITHM_SOFT_TIME_LIMIT} s)",
        )
    except RunFailed as exc:
        return _fail(run, token, str(exc))
    except SandboxUnavailable as exc:
        logger.error("algorithm run %s: the sandbox is unavailable: %s", run.pk, exc)
        return jobs.job_retry_or_fail(
            ALGORITHM_RUN, job=run, token=token, fail=lambda: _fail(run, token, INTERNAL_ERROR)
        )
    except Exception:
        logger.exception("algorithm run %s: internal error", run.pk)
        return jobs.job_retry_or_fail(
            ALGORITHM_RUN, job=run, token=token, fail=lambda: _fail(run, token, INTERNAL_ERROR)
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _should_stop(run_pk: int, token: str) -> bool:
    """Polled about once a second: cancelled, or no longer this delivery's."""
    try:
        return not ALGORITHM_RUN.filter(
            pk=run_pk,
            status=AlgorithmRunStatus.RUNNING,
            run_token=token,
            cancel_requested=False,
        ).exists()
    except Exception:  # the database is briefly away: keep running
        logger.warning("algorithm run %s: could not read its state", run_pk, exc_info=True)
        return False


def unpack_version(version: AlgorithmVersion, dest: Path) -> None:
    """Extract ``version``'s stored archive into ``dest`` (checked again on the way)."""
    archive = version.archive
    local = dest.parent / "archive.zip"
    with archive.storage.open(archive.name, "rb") as source, open(local, "wb") as out:
        shutil.copyfileobj(source, out, COPY_CHUNK)
    try:
        extract_archive(local, dest, limits=archive_limits(), label="the archive")
    except ArchiveInvalid as exc:  # validated at upload; only a changed rule gets here
        raise RunFailed(str(exc)) from exc
    finally:
        local.unlink(missing_ok=True)


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


def _usage(result: SandboxResult, backend: SandboxBackend) -> dict[str, Any]:
    return {
        "backend": backend.name,
        "seconds": result.seconds,
        "cpu_seconds": result.cpu_seconds,
        "peak_memory_mb": result.peak_memory_mb,
        "log_bytes": result.log_bytes,
        "log_tail": result.log_tail,
        "exit_code": result.exit_code,
        "limit_hit": result.limit_hit or "",
    }


def _finish(
    *, run: AlgorithmRun, token: str, result: SandboxResult, backend: SandboxBackend, output: Path
) -> str:
    usage = _usage(result, backend)
    if result.cancelled:
        status = jobs.job_transition(
            ALGORITHM_RUN,
            pk=run.pk,
            token=token,
            status=AlgorithmRunStatus.CANCELLED,
            error="cancelled while running",
            **usage,
        )
        return AlgorithmRunStatus.CANCELLED if status else "superseded"
    if not result.ok:
        return _fail(run, token, result.message, **usage)
    cap = min(run.limits.get("output_mb", 200) * 1024 * 1024, settings.SUBMISSION_MAX_BYTES)
    try:
        predictions = predictions_file(
            output,
            cap,
            test_rows=run.task.test_rows,
            should_stop=lambda: _should_stop(run.pk, token),
        )
    except OutputReadCancelled as exc:
        return _fail(run, token, str(exc), cancelled=True, **usage)
    except RunFailed as exc:
        return _fail(run, token, str(exc), **usage)
    if run.is_organizer_run:
        return _finish_scored_here(run=run, token=token, predictions=predictions, usage=usage)
    return _finish_as_submission(run=run, token=token, predictions=predictions, usage=usage)


def _finish_as_submission(
    *, run: AlgorithmRun, token: str, predictions: Path, usage: dict[str, Any]
) -> str:
    version = run.version
    note = f"Algorithm {version.algorithm.name} v{version.number} (run #{run.pk})"
    with jobs.job_locked(ALGORITHM_RUN, pk=run.pk, token=token) as locked:
        if locked is None:
            return "superseded"
        if run.started_by is None:
            error = "the user who started the run no longer exists, so nothing was submitted"
            return _fail(run, token, error, **usage)
        try:
            with open(predictions, "rb") as handle:
                submission = submission_create(
                    task=run.task,
                    user=run.started_by,
                    file=File(handle, name=predictions.name.removeprefix("submitted-")),
                    note=note,
                )
        except SubmissionRefused as exc:
            return _fail(run, token, f"the predictions were not submitted: {exc.message}", **usage)
        except RulesNotAccepted as exc:
            return _fail(run, token, f"the predictions were not submitted: {exc.detail()}", **usage)
        jobs.job_transition(
            ALGORITHM_RUN,
            pk=run.pk,
            token=token,
            status=AlgorithmRunStatus.SUCCEEDED,
            submission=submission,
            error="",
            **usage,
        )
    logger.info("algorithm run %s succeeded: submission %s", run.pk, submission.pk)
    return AlgorithmRunStatus.SUCCEEDED


def _finish_scored_here(
    *, run: AlgorithmRun, token: str, predictions: Path, usage: dict[str, Any]
) -> str:
    """An organizer's run: scored on every split for the transfer matrix, never ranked."""
    try:
        result = score_file(str(predictions), solution_for_task(run.task))
    except SubmissionInvalid as exc:
        return _fail(
            run, token, f"the predictions file is not a valid submission: {exc.message}", **usage
        )
    scores = {
        split: finite_metrics(result.metrics.get(split, {}))
        for split in ("public", "private", "all")
    }
    stored = run.predictions.storage.save(
        run.predictions.field.generate_filename(run, f"run-{run.pk}-{token[:12]}.npz"),
        ContentFile(save_predictions(result.aligned)),
    )
    done = jobs.job_transition(
        ALGORITHM_RUN,
        pk=run.pk,
        token=token,
        status=AlgorithmRunStatus.SUCCEEDED,
        scores=scores,
        predictions=stored,
        error="",
        **usage,
    )
    if not done:
        jobs.delete_file_quietly(run.predictions.storage, stored)
        return "superseded"
    return AlgorithmRunStatus.SUCCEEDED


def _fail(
    run: AlgorithmRun, token: str, error: str, *, cancelled: bool = False, **fields: Any
) -> str:
    status = AlgorithmRunStatus.CANCELLED if cancelled else AlgorithmRunStatus.FAILED
    done = jobs.job_transition(
        ALGORITHM_RUN,
        pk=run.pk,
        token=token,
        status=status,
        error=error[:4000],
        **fields,
    )
    if done:
        logger.info("algorithm run %s failed: %s", run.pk, error.splitlines()[0] if error else "")
    return status if done else "superseded"
