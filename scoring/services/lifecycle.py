"""Scoring one submission: claim, validate and score, then finish or retry.

Lifecycle (docs/architecture.md §5): ``queued -> scoring -> scored | failed``, run by the
shared job lifecycle of :mod:`jobs.lifecycle`. The database is the source of truth and the
broker only a doorbell: every message may be lost, duplicated or redelivered, so scoring
claims the row under a lock and only the delivery holding it (``claim_token``) may finish
it; a lost message is sent again (:mod:`jobs.republish`) and a dead worker's submission is
taken back (:mod:`jobs.liveness`, the sweeper as the last resort).

A file may also be scored before its submission reaches a scoring worker: a team's
algorithm run scores what its output check aligned (``scoring.core.handed``) in the algorithm
worker, and :func:`submission_score_here` claims and finishes the new submission in the
transaction that creates it, by the same claim, the same finish and the same digests as
:func:`submission_score` (docs/decisions/0061-a-run-scores-its-submission-in-its-worker.md).
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from billiard.exceptions import SoftTimeLimitExceeded  # celery.exceptions's, without kombu
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError, transaction

from challenges import hooks
from common.files import delete_file_quietly, local_path
from common.wording import first_line
from datasets.phase_versions import task_for_phase
from jobs import lifecycle
from scoring.core import (
    ScoreResult,
    Scores,
    Solution,
    SubmissionInvalid,
    primary_metric,
    score_file,
)
from scoring.core import save_predictions as predictions_to_bytes
from scoring.digests import scoring_digests_store
from scoring.insight import submission_flip_references
from scoring.job_types import SCORING
from scoring.models import Submission, SubmissionStatus
from scoring.solutions import solution_for_task

logger = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = (
    "An internal error stopped scoring; the organizers have been notified; "
    "this does not count against your daily limit."
)
FINAL = SCORING.final
PENDING = (SubmissionStatus.QUEUED, SubmissionStatus.SCORING)


def publish_scoring(*, submission_pk: int, countdown: float | None = None) -> None:
    """Queue ``submission_pk`` for scoring once the current transaction commits."""
    lifecycle.publish_job_after_commit(job_type=SCORING, pk=submission_pk, countdown=countdown)


class _InternalError(Exception):
    """Not the participant's fault (the solution could not be loaded, storage failed...)."""


def _exhausted(submission: Submission, now: datetime) -> dict[str, Any]:
    return {"error": INTERNAL_ERROR_MESSAGE}


def submission_score(*, submission_pk: int, delivery_id: str | None = None) -> str:
    """Score one submission; return the status it ended in (or why nothing was done).

    Safe to run for any message, any number of times: it claims the row under a lock and
    does nothing when the submission is already final or held by another delivery.
    """
    token = delivery_id or uuid.uuid4().hex
    submission = lifecycle.job_claim(
        job_type=SCORING,
        pk=submission_pk,
        token=token,
        delivery_id=delivery_id,
        exhausted=_exhausted,
        select_related=("task",),
    )
    if submission is None:
        return "skipped"
    started = time.monotonic()
    task = submission.task
    try:
        try:
            solution = solution_for_task(
                task=task_for_phase(task=task, phase_id=submission.phase_id)
            )
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:
            raise _InternalError(f"loading the solution of task {task.slug} failed") from exc
        result = score_file(
            _open_upload(submission), solution, max_bytes=settings.SUBMISSION_MAX_BYTES
        )
        scored = Scored(
            result=result, predictions=predictions_to_bytes(result.aligned), solution=solution
        )
        predictions = _store_predictions(
            submission=submission, data=scored.predictions, token=token
        )
    except SubmissionInvalid as exc:
        return _finish_failed(submission=submission, token=token, error=exc.message)
    except SoftTimeLimitExceeded:
        minutes = max(round(settings.SCORING_SOFT_TIME_LIMIT / 60), 1)
        return _finish_failed(
            submission=submission,
            token=token,
            error=(
                f"Scoring took longer than the {minutes}-minute limit and was stopped. "
                "Check that the file has one row per test id and no extra data, or contact "
                "the organizers if it does."
            ),
        )
    except Exception:
        logger.exception(
            "internal error scoring submission %s (attempt %s of %s)",
            submission.pk,
            submission.attempts,
            settings.SCORING_MAX_ATTEMPTS,
        )
        return lifecycle.job_retry_or_fail(
            job_type=SCORING,
            job=submission,
            token=token,
            fail=lambda: _finish_failed(
                submission=submission, token=token, error=INTERNAL_ERROR_MESSAGE
            ),
        )
    seconds = time.monotonic() - started
    done = _finish_scored(
        submission=submission, token=token, scored=scored, stored=predictions, seconds=seconds
    )
    if not done:
        delete_file_quietly(submission.predictions.storage, predictions)
        return "superseded"
    _store_digests(submission_pk=submission.pk, predictions=predictions, scored=scored)
    return SubmissionStatus.SCORED


@dataclass(frozen=True)
class Scored:
    """A submission's file, scored: what finishing it ``scored`` records. Scoring makes it
    from the stored upload (:func:`submission_score`); a team's algorithm run makes it in
    its worker before the submission exists, from what its output check aligned
    (``scoring.core.handed``, checked as untrusted there), for :func:`submission_score_here`."""

    result: ScoreResult
    predictions: bytes  # the aligned predictions as stored (``save_predictions``' bytes)
    solution: Solution
    # What scoring it took before its submission was claimed (a run's worker: the hand-over
    # read, checked and scored), counted in its ``scoring_seconds``.
    seconds: float = 0.0


def submission_score_here(*, submission: Submission, scored: Scored) -> bool:
    """Inside the transaction that creates ``submission`` (just saved ``queued``, its
    scoring not published): finish it with ``scored`` instead of queueing it. It is claimed,
    its predictions stored and it is finished ``scored`` as :func:`submission_score` claims,
    stores and finishes a queued one (the same fields; the hooks in this transaction: the
    board, the champion's check, the notifications; the digests after commit), so nobody
    sees it ``queued`` or ``scoring`` and no second job, parse or alignment is made.

    All of it in a savepoint: False when it could not be done (an internal error, logged;
    nothing of it kept): the caller then queues the submission for the scoring workers, as
    any upload. When done, ``submission`` is read again (it reads ``scored``)."""
    token = uuid.uuid4().hex
    started = time.monotonic()
    stored = _predictions_name(submission=submission, token=token)
    kept = False
    try:
        with transaction.atomic():
            claimed = lifecycle.job_claim(
                job_type=SCORING, pk=submission.pk, token=token, select_related=("task",)
            )
            if claimed is None:
                raise _InternalError(f"submission {submission.pk} could not be claimed")
            stored = _store_predictions(submission=claimed, data=scored.predictions, token=token)
            seconds = scored.seconds + time.monotonic() - started
            done = _finish_scored(
                submission=claimed, token=token, scored=scored, stored=stored, seconds=seconds
            )
            if not done:
                raise _InternalError(f"submission {submission.pk} was taken over")
        kept = True
    except SoftTimeLimitExceeded:
        raise
    except Exception:
        logger.exception(
            "submission %s could not be scored where its file was scored; it is queued for "
            "the scoring workers",
            submission.pk,
        )
        return False
    finally:
        if not kept:
            # Whatever was written under this try's name (all of it, or part of a failed
            # write): no later try uses the name, and the row never pointed at it.
            delete_file_quietly(submission.predictions.storage, stored)
    submission.refresh_from_db()
    pk = submission.pk
    transaction.on_commit(
        lambda: _store_digests(submission_pk=pk, predictions=stored, scored=scored)
    )
    return True


def _finish_scored(
    *, submission: Submission, token: str, scored: Scored, stored: str, seconds: float
) -> bool:
    """Finish ``submission`` ``scored`` with ``scored``, its predictions stored as ``stored``
    and its ``scoring_seconds``, if ``token`` still holds it (False when it was taken
    over)."""
    result = scored.result
    scores = result.scores()
    task = submission.task
    primary = primary_metric(task.kind, task.primary_metric)
    finished = _finish(
        submission=submission,
        token=token,
        status=SubmissionStatus.SCORED,
        **primary_scores(scores=scores, primary=primary),
        row_count=result.row_count,
        file_format=result.format,
        scoring_seconds=seconds,
        predictions=stored,
        error="",
    )
    if finished:
        logger.info(
            "submission %s scored: %s=%s", submission.pk, primary, scores["public"].get(primary)
        )
    return finished


def primary_scores(*, scores: Scores, primary: str) -> dict[str, Any]:
    """The stored fields of a scored file: its ``scores`` and the primary metric's public
    and private values (submissions and references keep the same three)."""
    return {
        "scores": scores,
        "public_score": scores["public"].get(primary),
        "private_score": scores["private"].get(primary),
    }


def _finish(*, submission: Submission, token: str, status: str, **fields: Any) -> bool:
    """Leave ``scoring`` if this delivery still holds the row; False if it lost it.

    A scored submission tells the layers above (the leaderboard's hook) in the same
    transaction: once a submission reads "scored", its board shows it. A scored or failed
    one is also announced as finished (the notifications mail its team after commit).
    """
    task_id, team_id, submission_id = submission.task_id, submission.team_id, submission.pk

    def then() -> None:
        # The board's refresh last: it locks the task's row until this transaction commits,
        # and every scoring of the task waits for that lock (what else runs here is not
        # held under it).
        if status in FINAL:
            hooks.emit(event=hooks.SubmissionFinished(submission_id=submission_id))
        if status == SubmissionStatus.SCORED:
            hooks.emit(event=hooks.TaskResultsChanged(task_id=task_id, team_id=team_id))

    done = lifecycle.job_transition(
        job_type=SCORING, pk=submission.pk, token=token, status=status, then=then, **fields
    )
    if done:
        old = submission.predictions.name
        if old and old != fields.get("predictions"):
            delete_file_quietly(submission.predictions.storage, old)
    return done


def _store_digests(*, submission_pk: int, predictions: str, scored: Scored) -> None:
    """The page's digests (own, and flips against today's references) while the arrays are
    in memory; a failure only costs a later view the computation (``scoring.digests``
    computes a missing digest on the first view)."""
    result, solution = scored.result, scored.solution
    if not solution.task_kind.flips:
        return  # nothing row by row to show (grouping: cluster ids are names)
    try:
        submission = Submission.objects.select_related("task").get(pk=submission_pk)
        if submission.predictions.name != predictions:
            return  # superseded meanwhile
        references = submission_flip_references(submission=submission).values()
        scoring_digests_store(
            submission=submission,
            predictions=predictions,
            aligned=result.aligned,
            solution=solution,
            curves=result.curves,
            references=[reference for reference in references if reference is not None],
        )
    except (OperationalError, InterfaceError) as exc:  # an operator's fault, said in one line
        logger.warning(
            "no digest stored for submission %s: the database was unavailable (%s); its first "
            "view computes it",
            submission_pk,
            first_line(exc),
        )
    except Exception:
        logger.warning("no digest stored for submission %s", submission_pk, exc_info=True)


def _finish_failed(*, submission: Submission, token: str, error: str) -> str:
    done = _finish(
        submission=submission,
        token=token,
        status=SubmissionStatus.FAILED,
        error=error,
        scores={},
        public_score=None,
        private_score=None,
        predictions="",
    )
    if done:
        logger.info("submission %s failed: %s", submission.pk, error.splitlines()[0])
    return SubmissionStatus.FAILED if done else "superseded"


def _open_upload(submission: Submission) -> Any:
    """A local path when the storage has one (Arrow maps it), else the stored file's bytes."""
    storage = submission.file.storage
    path = local_path(storage, submission.file.name)
    if path is not None:
        return path
    with storage.open(submission.file.name, "rb") as handle:
        return io.BytesIO(handle.read())


def _store_predictions(*, submission: Submission, data: bytes, token: str) -> str:
    """Store the aligned predictions; the row keeps pointing at the old file until it is
    finished (the old one is removed then).

    The name is fixed per delivery (``token``), so a Celery retry of the same message, after
    a try that stored its file but lost the database before finishing, replaces that file
    instead of leaving it behind.
    """
    field = submission.predictions
    name = _predictions_name(submission=submission, token=token)
    try:
        field.storage.delete(name)  # an interrupted try of this delivery; no-op otherwise
        return field.storage.save(name, ContentFile(data))
    except Exception as exc:
        raise _InternalError("storing the predictions failed") from exc


def _predictions_name(*, submission: Submission, token: str) -> str:
    """The name the predictions of ``submission`` scored under ``token`` are stored as."""
    tag = hashlib.sha256(token.encode()).hexdigest()[:12]
    return submission.predictions.field.generate_filename(
        submission, f"predictions-{submission.pk}-{tag}.npz"
    )
