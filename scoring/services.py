"""Writes of the scoring app: upload, the scoring lifecycle, the sweeper and rescoring.

Lifecycle (DESIGN §5): ``queued -> scoring -> scored | failed``. The database is the source
of truth and the broker only a doorbell: every message may be lost, duplicated or
redelivered, so scoring claims the row under a lock and only the delivery holding it
(``scoring_token``) may finish it; the sweeper re-queues whatever a lost message or a dead
worker left behind.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import math
import re
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from challenge_platform.models import Challenge, Team, TeamMembership
from datasets.models import Task
from scoring.core import PRIMARY_METRIC, Solution, SubmissionInvalid, load_solution, score_file
from scoring.core import save_predictions as predictions_to_bytes
from scoring.models import Submission, SubmissionStatus
from scoring.selectors import submission_daily_usage, team_for_user

logger = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = (
    "An internal error stopped scoring; the organizers have been notified; "
    "this does not count against your daily limit."
)
SNIFF_BYTES = 8 * 1024
SWEEP_BATCH = 500
SOLUTION_CACHE_SIZE = 4
FORMAT_SUFFIX = {"csv": ".csv", "csv.gz": ".csv.gz", "parquet": ".parquet"}
FINAL = (SubmissionStatus.SCORED, SubmissionStatus.FAILED)
PENDING = (SubmissionStatus.QUEUED, SubmissionStatus.SCORING)


class SubmissionRefused(Exception):
    """An upload refused before anything is stored; ``message`` is for the participant."""

    def __init__(
        self,
        code: str,
        message: str,
        http_status: int = 400,
        retry_after: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.retry_after = retry_after


# --- upload -----------------------------------------------------------------------------


# Multipart framing and the note around the file: a body this much over the file cap may
# still hold a file within it.
MULTIPART_SLACK_BYTES = 64 * 1024


def submission_admission_check(
    *,
    task: Task,
    user: AbstractBaseUser | AnonymousUser,
    declared_bytes: int | None = None,
) -> Team:
    """The refusals that need no byte of the file: not logged in, no team (or a hidden one),
    challenge not open, a declared body over the size cap, today's limit used.

    Views call it before the upload body is read (a refused upload costs the server nothing,
    however large it is); :func:`submission_create` calls it again. Returns the team that
    would submit.
    """
    if not user.is_authenticated:
        raise SubmissionRefused("not_authenticated", "Log in to submit.", 401)
    challenge = task.track.challenge
    team = _submitting_team(user=user, challenge=challenge)
    _check_open(challenge)
    limit = settings.SUBMISSION_MAX_BYTES
    if declared_bytes is not None and declared_bytes > limit + MULTIPART_SLACK_BYTES:
        raise SubmissionRefused(
            "too_large", f"The upload is larger than the limit of {_megabytes(limit)}.", 413
        )
    _check_daily_limit(team=team, task=task)  # cheap early refusal; repeated under the lock
    return team


def submission_create(
    *,
    task: Task,
    user: AbstractBaseUser | AnonymousUser,
    file: UploadedFile,
    note: str = "",
) -> Submission:
    """Check the upload cheaply, store it and queue it for scoring once committed.

    Raises :class:`SubmissionRefused` (nothing stored, nothing created) when the user may
    not submit, the file is obviously not a submission, the team used today's quota, or
    storage is unavailable. Full validation happens in the worker.
    """
    team = submission_admission_check(task=task, user=user)
    file_format = _sniff(file)

    submission = Submission(
        task=task,
        team=team,
        uploaded_by=user,
        note=note.strip()[:500],
        original_name=(file.name or "")[-255:],
        file_format=file_format,
        file_size=file.size or 0,
    )
    _store_upload(submission=submission, file=file, file_format=file_format)
    try:
        with transaction.atomic():
            # Serializes the uploads of one team (PostgreSQL row lock; on SQLite the
            # IMMEDIATE transaction already serializes writers), so two uploads can never
            # both take the last slot of the day.
            Team.objects.select_for_update().filter(pk=team.pk).values_list("pk").get()
            _check_daily_limit(team=team, task=task)
            submission.status = SubmissionStatus.QUEUED
            submission.status_changed_at = timezone.now()
            submission.save()
            pk = submission.pk
            transaction.on_commit(lambda: _publish_scoring(submission_pk=pk))
    except BaseException:
        _delete_file(submission.file.storage, submission.file.name)
        raise
    logger.info("submission %s queued (%s, team %s)", submission.pk, task.slug, team.pk)
    return submission


def _submitting_team(*, user: AbstractBaseUser, challenge: Challenge) -> Team:
    team = team_for_user(user=user, challenge=challenge)
    if team is None:
        raise SubmissionRefused(
            "no_team",
            "You are not in a team of this challenge; create or join a team before submitting.",
            403,
        )
    if team.is_hidden:
        raise SubmissionRefused(
            "team_hidden",
            "Your team has been hidden by the organizers and cannot submit; contact them.",
            403,
        )
    return team


def _check_open(challenge: Challenge) -> None:
    now = timezone.now()
    if now < challenge.start:
        raise SubmissionRefused(
            "not_open",
            f"The challenge opens on {challenge.start:%Y-%m-%d %H:%M} UTC; "
            "submissions are accepted from then on.",
            403,
        )
    if now >= challenge.end:
        raise SubmissionRefused(
            "closed",
            f"The challenge closed on {challenge.end:%Y-%m-%d %H:%M} UTC; "
            "submissions are no longer accepted.",
            403,
        )


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def _sniff(file: UploadedFile) -> str:
    """The format from the first bytes: csv, csv.gz or parquet; refuse the obvious misfits."""
    size = file.size or 0
    limit = settings.SUBMISSION_MAX_BYTES
    if size > limit:
        raise SubmissionRefused(
            "too_large",
            f"The file is {_megabytes(size)}; the limit is {_megabytes(limit)}.",
            413,
        )
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    if not head:
        raise SubmissionRefused("empty", "The file is empty.")
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"\x1f\x8b"):
        return "csv.gz"
    if head.startswith(b"PK\x03\x04"):
        raise SubmissionRefused(
            "bad_format",
            "The file is a ZIP archive or an Excel workbook; upload a CSV, gzipped CSV or "
            "Parquet file.",
        )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SubmissionRefused("bad_format", "The file is UTF-16 text; save it as UTF-8 CSV.")
    try:
        # A multi-byte character cut at the end of the sample is not an error.
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) >= size)
    except UnicodeDecodeError:
        raise SubmissionRefused(
            "bad_format",
            "The file is not Parquet, gzipped CSV or UTF-8 text; save it as a UTF-8 CSV file "
            "with a header line (id,label,...).",
        ) from None
    header = text.removeprefix("\ufeff").split("\n", 1)[0]
    # Lenient on purpose: a wrong separator or case gets its precise message from the worker.
    names = {name.strip().strip("\"'").strip().lower() for name in re.split(r"[,;\t|]", header)}
    if "id" not in names:
        raise SubmissionRefused(
            "no_header",
            "The first line of the file must be a header naming the columns, including 'id' "
            "(for example: id,label).",
        )
    return "csv"


def _check_daily_limit(*, team: Team, task: Task) -> None:
    usage = submission_daily_usage(team=team, task=task)
    if usage.used >= usage.limit:
        raise SubmissionRefused(
            "daily_limit",
            f"Your team has used its {usage.limit} submissions for this task today; the limit "
            f"resets at {usage.resets_at:%Y-%m-%d %H:%M} UTC. Failed submissions do not count.",
            429,
            retry_after=usage.resets_at,
        )


def _store_upload(*, submission: Submission, file: UploadedFile, file_format: str) -> None:
    name = uuid.uuid4().hex + FORMAT_SUFFIX[file_format]
    try:
        file.seek(0)
        submission.file.save(name, file, save=False)
    except Exception as exc:  # any storage backend error: local disk, S3, network
        logger.exception("could not store an upload for task %s", submission.task.slug)
        # A write that failed half-way (disk full) leaves a partial file under the name the
        # storage was given; the name is a fresh UUID, so it can only be this upload's.
        field = submission.file.field
        _delete_file(field.storage, field.generate_filename(submission, name))
        raise SubmissionRefused(
            "storage_unavailable",
            "The file could not be stored right now, so nothing was submitted and nothing "
            "counts against your limit. Please try again in a few minutes.",
            503,
        ) from exc


def _delete_file(storage: Any, name: str | None) -> None:
    if not name:
        return
    try:
        storage.delete(name)
    except Exception:  # cleanup only; the error that matters is raised elsewhere
        logger.warning("could not delete %s", name, exc_info=True)


def _publish_scoring(*, submission_pk: int, countdown: float | None = None) -> None:
    """Ring the doorbell. A lost message is not fatal: the sweeper re-queues the row."""
    from scoring.tasks import score_submission

    try:
        score_submission.apply_async(
            kwargs={"submission_pk": submission_pk},
            countdown=countdown,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )
    except Exception:
        logger.exception(
            "could not queue submission %s; the sweeper will re-queue it", submission_pk
        )


# --- scoring ------------------------------------------------------------------------------


@dataclass
class _SolutionCache:
    """Loaded solutions of this process, keyed by task id and solution file name."""

    size: int = SOLUTION_CACHE_SIZE
    items: OrderedDict[tuple[int, str], Solution] = field(default_factory=OrderedDict)

    def get(self, task: Task) -> Solution:
        key = (task.pk, task.solution.name)
        solution = self.items.get(key)
        if solution is None:
            with task.solution.open("rb") as handle:
                solution = load_solution(handle, kind=task.kind, classes=list(task.classes))
            self.items[key] = solution
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        self.items.move_to_end(key)
        return solution


solution_cache = _SolutionCache()


class _InternalError(Exception):
    """Not the participant's fault (the solution could not be loaded, storage failed...)."""


def submission_score(*, submission_pk: int, delivery_id: str | None = None) -> str:
    """Score one submission; return the status it ended in (or why nothing was done).

    Safe to run for any message, any number of times: it claims the row under a lock and
    does nothing when the submission is already final or held by another delivery.
    """
    token = delivery_id or uuid.uuid4().hex
    submission = _claim(submission_pk=submission_pk, token=token, delivery_id=delivery_id)
    if submission is None:
        return "skipped"
    started = time.monotonic()
    task = submission.task
    try:
        try:
            solution = solution_cache.get(task)
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:
            raise _InternalError(f"loading the solution of task {task.slug} failed") from exc
        _test_delay()
        result = score_file(
            _open_upload(submission), solution, max_bytes=settings.SUBMISSION_MAX_BYTES
        )
        predictions = _store_predictions(
            submission=submission, data=predictions_to_bytes(result.aligned), token=token
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
        return _retry_or_fail(submission=submission, token=token)
    scores = {
        split: _finite(result.metrics.get(split, {})) for split in ("all", "public", "private")
    }
    primary = task.primary_metric or PRIMARY_METRIC[task.kind]
    finished = _transition(
        submission=submission,
        token=token,
        status=SubmissionStatus.SCORED,
        scores=scores,
        public_score=scores["public"].get(primary),
        private_score=scores["private"].get(primary),
        row_count=result.row_count,
        file_format=result.format,
        scoring_seconds=time.monotonic() - started,
        predictions=predictions,
        error="",
    )
    if not finished:
        _delete_file(submission.predictions.storage, predictions)
        return "superseded"
    logger.info(
        "submission %s scored: %s=%s", submission.pk, primary, scores["public"].get(primary)
    )
    return SubmissionStatus.SCORED


def _claim(*, submission_pk: int, token: str, delivery_id: str | None) -> Submission | None:
    """Move the row to ``scoring`` under a lock, or return None when there is nothing to do."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().filter(pk=submission_pk).first()
        if submission is None:
            logger.warning("submission %s no longer exists", submission_pk)
            return None
        if submission.status in FINAL:
            logger.info("submission %s is already %s", submission_pk, submission.status)
            return None
        redelivered = bool(delivery_id) and submission.scoring_token == delivery_id
        if submission.status == SubmissionStatus.SCORING and not redelivered:
            logger.info("submission %s is being scored by another delivery", submission_pk)
            return None
        now = timezone.now()
        if submission.attempts >= settings.SCORING_MAX_ATTEMPTS:
            logger.error("submission %s used all its scoring attempts", submission_pk)
            submission.status = SubmissionStatus.FAILED
            submission.error = INTERNAL_ERROR_MESSAGE
            submission.finished_at = now
            submission.status_changed_at = now
            submission.scoring_token = ""
            submission.save(
                update_fields=[
                    "status",
                    "error",
                    "finished_at",
                    "status_changed_at",
                    "scoring_token",
                ]
            )
            return None
        submission.status = SubmissionStatus.SCORING
        submission.status_changed_at = now
        submission.started_at = now
        submission.finished_at = None
        submission.attempts += 1
        submission.scoring_token = token
        submission.save(
            update_fields=[
                "status",
                "status_changed_at",
                "started_at",
                "finished_at",
                "attempts",
                "scoring_token",
            ]
        )
    return Submission.objects.select_related("task").get(pk=submission_pk)


def _transition(*, submission: Submission, token: str, status: str, **fields: Any) -> bool:
    """Leave ``scoring`` if this delivery still holds the row; False if it lost it."""
    now = timezone.now()
    if status in FINAL:
        fields.setdefault("finished_at", now)
    with transaction.atomic():
        updated = Submission.objects.filter(
            pk=submission.pk, status=SubmissionStatus.SCORING, scoring_token=token
        ).update(status=status, status_changed_at=now, **fields)
        if updated and status == SubmissionStatus.SCORED:
            # Same transaction: once a submission reads "scored", its board shows it.
            _leaderboard_refresh(task_id=submission.task_id)
        if updated and status == SubmissionStatus.QUEUED:
            countdown = min(2**submission.attempts, 60)
            pk = submission.pk
            transaction.on_commit(lambda: _publish_scoring(submission_pk=pk, countdown=countdown))
    if updated and status in FINAL:
        old = submission.predictions.name
        if old and old != fields.get("predictions"):
            _delete_file(submission.predictions.storage, old)
    if not updated:
        logger.warning("submission %s was taken over while scoring; result dropped", submission.pk)
    return bool(updated)


def _finish_failed(*, submission: Submission, token: str, error: str) -> str:
    done = _transition(
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


def _retry_or_fail(*, submission: Submission, token: str) -> str:
    if submission.attempts < settings.SCORING_MAX_ATTEMPTS:
        done = _transition(
            submission=submission, token=token, status=SubmissionStatus.QUEUED, scoring_token=""
        )
        return SubmissionStatus.QUEUED if done else "superseded"
    return _finish_failed(submission=submission, token=token, error=INTERNAL_ERROR_MESSAGE)


def _open_upload(submission: Submission) -> Any:
    """A local path when the storage has one (Arrow maps it), else the stored file's bytes."""
    storage = submission.file.storage
    try:
        return storage.path(submission.file.name)
    except NotImplementedError:
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
    tag = hashlib.sha256(token.encode()).hexdigest()[:12]
    name = field.field.generate_filename(submission, f"predictions-{submission.pk}-{tag}.npz")
    try:
        field.storage.delete(name)  # an interrupted try of this delivery; no-op otherwise
        return field.storage.save(name, ContentFile(data))
    except Exception as exc:
        raise _InternalError("storing the predictions failed") from exc


def _finite(metrics: dict[str, float]) -> dict[str, float | None]:
    """JSON has no NaN or infinity (PostgreSQL's jsonb refuses them): store them as null."""
    return {
        name: (float(value) if value is not None and math.isfinite(value) else None)
        for name, value in metrics.items()
    }


def _test_delay() -> None:
    """Tests make scoring slow on purpose (to kill a worker mid-way); 0 everywhere else."""
    delay = float(getattr(settings, "SCORING_TEST_DELAY_SECONDS", 0) or 0)
    if delay > 0:
        time.sleep(delay)


def _leaderboard_refresh(*, task_id: int) -> None:
    """Refresh the task's leaderboard; a failure there never undoes a score."""
    from leaderboard.services import task_leaderboard_refresh  # leaderboard imports scoring

    try:
        with transaction.atomic():  # a savepoint inside the scoring transaction
            task_leaderboard_refresh(task_id=task_id)
    except Exception:
        logger.exception("refreshing the leaderboard of task %s failed", task_id)


# --- sweeper and rescoring ------------------------------------------------------------


@dataclass(frozen=True)
class SweepReport:
    requeued: list[int]
    failed: list[int]


def submissions_sweep(*, now: datetime | None = None) -> SweepReport:
    """Re-queue submissions stuck in queued/scoring past ``SWEEPER_STALE_AFTER_SECONDS``.

    A lost broker message leaves a row ``queued``; a dead worker leaves it ``scoring``. Both
    go back to ``queued`` with a fresh message, unless they used every attempt: ``failed``.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SWEEPER_STALE_AFTER_SECONDS)
    stale = Q(status__in=PENDING) & (
        Q(status_changed_at__lt=cutoff) | Q(status_changed_at__isnull=True)
    )
    requeued: list[int] = []
    failed: list[int] = []
    pks = list(
        Submission.objects.filter(stale).order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for pk in pks:
        with transaction.atomic():
            submission = Submission.objects.select_for_update().filter(stale, pk=pk).first()
            if submission is None:
                continue  # finished or claimed meanwhile
            submission.status_changed_at = now
            submission.scoring_token = ""
            if submission.attempts >= settings.SCORING_MAX_ATTEMPTS:
                submission.status = SubmissionStatus.FAILED
                submission.error = INTERNAL_ERROR_MESSAGE
                submission.finished_at = now
                failed.append(pk)
            else:
                submission.status = SubmissionStatus.QUEUED
                transaction.on_commit(lambda pk=pk: _publish_scoring(submission_pk=pk))
                requeued.append(pk)
            submission.save(
                update_fields=[
                    "status",
                    "status_changed_at",
                    "scoring_token",
                    "error",
                    "finished_at",
                ]
            )
    if requeued or failed:
        logger.warning("sweeper re-queued %s and failed %s submissions", requeued, failed)
    return SweepReport(requeued=requeued, failed=failed)


_RESET = {
    "status": SubmissionStatus.QUEUED,
    "error": "",
    "attempts": 0,
    "scoring_token": "",
    "scores": {},
    "public_score": None,
    "private_score": None,
    "row_count": None,
    "started_at": None,
    "finished_at": None,
    "scoring_seconds": None,
}


def submission_rescore(*, submission: Submission) -> Submission:
    """Score again from scratch (organizer action): back to ``queued``, published on commit."""
    _rescore(Submission.objects.filter(pk=submission.pk), task_ids={submission.task_id})
    submission.refresh_from_db()
    return submission


def task_rescore(*, task: Task) -> int:
    """Score every submission of ``task`` again, e.g. after the solution was corrected."""
    return _rescore(Submission.objects.filter(task=task), task_ids={task.pk})


def _rescore(submissions: Any, *, task_ids: set[int]) -> int:
    now = timezone.now()
    with transaction.atomic():
        pks = list(submissions.select_for_update().order_by("pk").values_list("pk", flat=True))
        Submission.objects.filter(pk__in=pks).update(status_changed_at=now, **_RESET)
        for pk in pks:
            transaction.on_commit(lambda pk=pk: _publish_scoring(submission_pk=pk))
        for task_id in task_ids:
            transaction.on_commit(lambda task_id=task_id: _leaderboard_refresh(task_id=task_id))
    logger.info("re-queued %s submissions for scoring", len(pks))
    return len(pks)


# --- final selection ------------------------------------------------------------------


def submission_final_set(
    *, submission: Submission, user: AbstractBaseUser | AnonymousUser, final: bool
) -> Submission:
    """Mark (or unmark) one of the team's scored submissions as final for the private board.

    Only the team's members may, and only before the challenge ends; a team keeps at most
    ``challenge.max_final_selections`` finals per task (raises :class:`SubmissionRefused`
    with a plain message otherwise). The task's leaderboard is refreshed afterwards: the
    private board ranks each team's finals (or its best public ones when it chose none).
    """
    if not user.is_authenticated:
        raise SubmissionRefused("not_authenticated", "Log in to choose final submissions.", 401)
    task = submission.task
    challenge = task.track.challenge
    if not TeamMembership.objects.filter(team_id=submission.team_id, user_id=user.pk).exists():
        raise SubmissionRefused(
            "not_member", "Only the team's members can choose its final submissions.", 403
        )
    if timezone.now() >= challenge.end:
        raise SubmissionRefused(
            "closed",
            f"The challenge closed on {challenge.end:%Y-%m-%d %H:%M} UTC; final selections "
            "can no longer change.",
            403,
        )
    with transaction.atomic():
        # One team's toggles run one at a time, so two can never both take the last slot.
        Team.objects.select_for_update().filter(pk=submission.team_id).values_list("pk").get()
        current = Submission.objects.get(pk=submission.pk)
        if current.is_final == final:
            submission.is_final = final
            return submission
        if final:
            _check_final_allowed(submission=current, limit=challenge.max_final_selections)
        Submission.objects.filter(pk=current.pk).update(is_final=final)
    submission.is_final = final
    logger.info(
        "submission %s %s final by %s", submission.pk, "marked" if final else "unmarked", user.pk
    )
    _leaderboard_refresh(task_id=task.pk)
    return submission


def _check_final_allowed(*, submission: Submission, limit: int) -> None:
    if submission.status != SubmissionStatus.SCORED or submission.public_score is None:
        raise SubmissionRefused(
            "not_scored",
            f"Submission #{submission.pk} is {submission.status}; only a scored submission "
            "can be final.",
        )
    if submission.is_hidden:
        raise SubmissionRefused(
            "hidden", f"Submission #{submission.pk} was hidden by the organizers.", 403
        )
    others = list(
        Submission.objects.filter(
            team_id=submission.team_id, task_id=submission.task_id, is_final=True
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )
    if len(others) >= limit:
        chosen = ", ".join(f"#{pk}" for pk in others)
        raise SubmissionRefused(
            "final_limit",
            f"Your team already has {limit} final submission{'s' if limit != 1 else ''} for "
            f"this task ({chosen}); unmark one before choosing another.",
            409,
        )


def submission_visibility_set(*, submission: Submission, hidden: bool) -> None:
    """Hide (or disqualify) a submission: it leaves the leaderboards, stays in the records."""
    if submission.is_hidden == hidden:
        return
    Submission.objects.filter(pk=submission.pk).update(is_hidden=hidden)
    submission.is_hidden = hidden
    _leaderboard_refresh(task_id=submission.task_id)
