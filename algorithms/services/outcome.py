"""Recording a baseline run's outcome: artifacts, status and the baseline submission.

**Submission.** A succeeded run's ``predictions.parquet`` becomes a Submission of the
challenge's baseline team through :func:`scoring.services.submission_create_for_job`, in the
transaction that finishes the run: it is validated, scored per split and put on the
leaderboards exactly like a team's file.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from django.core.files import File
from django.utils import timezone

from challenge_platform import jobs
from scoring.baselines.autogluon_baseline import outputs
from scoring.baselines.models import LOG_TAIL_BYTES, BaselineRun, BaselineRunStatus
from scoring.baselines.services.queue import BASELINES, baseline_team_get_or_create
from scoring.models import Submission
from scoring.services import SubmissionRefused, submission_create_for_job

logger = logging.getLogger(__name__)

Status = Literal["succeeded", "failed", "timed_out", "cancelled"]


@dataclass(frozen=True)
class BaselineOutcome:
    """How one baseline run ended in the sandbox, and where its files are (None when not
    written): what :func:`record_outcome` stores."""

    status: Status
    message: str
    elapsed: float
    returncode: int | None
    pid: int | None
    predictions: Path | None
    leaderboard: Path | None
    log: Path | None
    result: Path | None
    extra_result: dict[str, Any] | None = None  # merged into result.json's (e.g. the version)

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


_STATUS = {
    "succeeded": BaselineRunStatus.SUCCEEDED,
    "failed": BaselineRunStatus.FAILED,
    "timed_out": BaselineRunStatus.TIMED_OUT,
    "cancelled": BaselineRunStatus.CANCELLED,
}


def record_outcome(
    *, run: BaselineRun, token: str, outcome: BaselineOutcome, watch: Any, out_dir: Path
) -> str:
    """Store the artifacts and the outcome; for a success, submit the predictions."""
    result = outputs.read_json(outcome.result) if outcome.result else {}
    result.update(outcome.extra_result or {})
    status = _STATUS[outcome.status]
    message = outcome.message
    if status == BaselineRunStatus.CANCELLED and watch.lost:
        message = "stopped: the run was taken over (the sweeper found no heartbeat)"
    written: list[tuple[Any, str]] = []
    fields: dict[str, Any] = {
        "elapsed": outcome.elapsed,
        "runner_pid": outcome.pid,
        "result": jobs.json_finite(result),
        "validation_score": jobs.float_or_none(result.get("validation_score")),
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

    predictions = None
    if status == BaselineRunStatus.SUCCEEDED and outcome.predictions is not None:
        predictions = outcome.predictions
        score = fields["validation_score"]
        message = (
            f"AutoGluon {run.presets}, {outcome.elapsed:.0f} s; best model"
            f" {fields['best_model'] or '?'}"
            + (f", validation {result.get('eval_metric')} {score:.4f}" if score is not None else "")
            + "; predictions submitted as the baseline team"
        )
    return finish(
        run=run,
        token=token,
        status=status,
        message=message,
        predictions=predictions,
        written=written,
        **fields,
    )


def finish(
    *,
    run: BaselineRun,
    token: str,
    status: str,
    message: str,
    predictions: Path | None = None,
    written: list[tuple[Any, str]] | None = None,
    **fields: Any,
) -> str:
    """Leave ``running`` if this delivery still holds the run; else drop what it wrote.

    With ``predictions``, the baseline team's submission is created in the same transaction
    (so it exists exactly when the run records it); predictions the scoring checks refuse
    fail the run with their message.
    """
    now = timezone.now()
    with jobs.job_locked(BASELINES, pk=run.pk, token=token) as locked:
        if locked is not None:
            if predictions is not None:
                try:
                    fields["submission"] = _submit(run=run, predictions=predictions)
                except SubmissionRefused as refused:
                    status = BaselineRunStatus.FAILED
                    message = f"the predictions were refused: {refused.message}"
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
            jobs.delete_file_quietly(storage, name)
        return "superseded"
    logger.info("baseline run %s %s: %s", run.pk, status, message)
    return status


def _submit(*, run: BaselineRun, predictions: Path) -> Submission:
    """The baseline team's queued submission of ``predictions``: the one scoring path for a
    job's predictions; only the participant checks (members, open dates, daily limit) are
    skipped, as the baseline team has no members and runs before the challenge opens."""
    task = run.task
    return submission_create_for_job(
        task=task,
        team=baseline_team_get_or_create(challenge=task.track.challenge),
        predictions=predictions,
        note=f"AutoGluon baseline run #{run.pk} ({run.presets}, {run.time_limit} s)",
        name=f"baseline-{run.pk}",
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
