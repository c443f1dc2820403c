"""Turning a file into a queued submission: a participant's upload, or a job's predictions.

Both paths share the format sniffing, the storage and the queueing (``queued``, published
by name on commit to the scoring task); only the participant checks (team, open dates,
daily limit, the team's upload rate and storage quota: ``challenges.upload_budget``)
are the upload's own. A team's algorithm run submits through the upload's path with its
file already scored (``scored``): the submission is then scored in the transaction that
creates it (``scoring.services.lifecycle.submission_score_here``) instead of queued.
"""

from __future__ import annotations

import codecs
import logging
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from challenges.models import Challenge, Phase, Team
from challenges.phases import phase_open
from challenges.rules import rules_gate
from challenges.selectors import team_for_user
from challenges.upload_budget import (
    StorageUse,
    refused_as,
    upload_quota_check,
    upload_rate_check,
    upload_rate_take,
)
from common.files import delete_file_quietly
from common.refusals import Refusal
from common.units import byte_size
from datasets.models import Task
from runtime.wsgi_retry import replay_safe
from scoring.models import Submission, SubmissionStatus
from scoring.selectors import (
    submission_daily_limit,
    submission_daily_usages,
)
from scoring.services.lifecycle import Scored, publish_scoring, submission_score_here

logger = logging.getLogger(__name__)

SNIFF_BYTES = 8 * 1024
FORMAT_SUFFIX = {"csv": ".csv", "csv.gz": ".csv.gz", "parquet": ".parquet"}


class SubmissionRefused(Refusal):
    """An upload refused before anything is stored; ``message`` is for the participant."""


# Multipart framing and the note around the file: a body this much over the file cap may
# still hold a file within it.
MULTIPART_SLACK_BYTES = 64 * 1024


# Where ``scoring.admission``'s middleware leaves the admission it asked before the body was
# read (a session caller's upload), for the view's ``submission_create`` not to ask it again.
ADMITTED = "submission_admission"


@dataclass(frozen=True)
class Admission:
    """What :func:`submission_admission_check` found, for :func:`submission_create` to use
    instead of asking again within the same request: the team that submits, the phase open
    when it was asked, today's limit then, and the team's storage use it read (None: no
    quota, or no declared size to check)."""

    task_id: int
    user_id: int
    team: Team
    phase: Phase | None
    daily_limit: int
    storage: StorageUse | None = None

    def holds_for(self, *, task: Task, user: AbstractBaseUser | AnonymousUser) -> bool:
        """Was it asked for this upload (the same task and person)?"""
        return (self.task_id, self.user_id) == (task.pk, user.pk)


def submission_admission_check(
    *,
    task: Task,
    user: AbstractBaseUser | AnonymousUser,
    declared_bytes: int | None = None,
    arrived_in: Phase | None = None,
) -> Admission:
    """The refusals that need no byte of the file: not logged in, rules not accepted, no team
    (or a hidden one), challenge not open, a declared body over the size cap, today's limit
    used, the team's upload rate used, a declared body over the team's storage quota.

    Views call it before the upload body is read (a refused upload costs the server nothing,
    however large it is) and hand its answer to :func:`submission_create` (``admission``),
    which calls it itself when given none. Returns what it found (:class:`Admission`: the
    team that would submit...). ``arrived_in``: the phase an algorithm run was queued in (its
    submission belongs to it, whenever the run ends).
    """
    if not user.is_authenticated:
        raise SubmissionRefused("not_authenticated", "Log in to submit.", 401)
    challenge = task.track.challenge
    rules_gate(challenge=challenge, user=user)  # RulesNotAccepted: 403 / the rules page
    team = _submitting_team(user=user, challenge=challenge)
    phase = submission_phase(challenge=challenge, arrived_in=arrived_in)
    limit = settings.SUBMISSION_MAX_BYTES
    if declared_bytes is not None and declared_bytes > limit + MULTIPART_SLACK_BYTES:
        raise SubmissionRefused(
            "too_large", f"The upload is larger than the limit of {byte_size(limit)}.", 413
        )
    daily_limit = _daily_limit_now(task=task, phase=phase, arrived_in=arrived_in)
    _check_daily_limit(team=team, task=task, user=user, phase=phase, limit=daily_limit)
    storage = None
    with refused_as(refusal=SubmissionRefused):
        upload_rate_check(team=team)
        if declared_bytes is not None:
            storage = upload_quota_check(
                team=team, adding_bytes=max(declared_bytes - MULTIPART_SLACK_BYTES, 0)
            )
    return Admission(
        task_id=task.pk,
        user_id=user.pk,
        team=team,
        phase=phase,
        daily_limit=daily_limit,
        storage=storage,
    )


IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
# An idempotency key: 1 to 255 visible ASCII characters (a UUID, as ``chal`` sends).
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def idempotency_key_check(*, key: str | None) -> str:
    """The ``Idempotency-Key`` a client sent ("" when none); :class:`SubmissionRefused`
    (400) when it is not 1 to 255 visible ASCII characters."""
    if key is None or key == "":
        return ""
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise SubmissionRefused(
            "invalid_idempotency_key",
            "The Idempotency-Key header must be 1 to 255 visible ASCII characters "
            "(a UUID, for example).",
            400,
        )
    return key


def submission_replay(
    *, task: Task, user: AbstractBaseUser | AnonymousUser, idempotency_key: str
) -> Submission | None:
    """The submission an earlier upload with this key made for the user's team, or None.

    Asked before any other check (a retried upload whose first attempt took the day's last
    slot is answered with that submission, not refused): the same key is the same upload.
    :class:`SubmissionRefused` (422) when the key made a submission to another task."""
    if not idempotency_key or not user.is_authenticated:
        return None
    team = team_for_user(user=user, challenge=task.track.challenge)
    if team is None:
        return None
    existing = Submission.objects.filter(team=team, idempotency_key=idempotency_key).first()
    if existing is not None and existing.task_id != task.pk:
        raise SubmissionRefused(
            "idempotency_key_reused",
            "This Idempotency-Key was already used for an upload to another task; send a new"
            " key with each new upload.",
            422,
        )
    if existing is not None:
        existing.replayed = True  # type: ignore[attr-defined]
    return existing


def upload_replay(
    *, task: Task, user: AbstractBaseUser | AnonymousUser, header: str | None
) -> tuple[str, Submission | None]:
    """An API upload's ``Idempotency-Key`` (``header``, checked by :func:`idempotency_key_check`)
    and the submission an earlier upload with it made (:func:`submission_replay`), asked before
    anything else: the one rule the admission middleware and the API view both follow.
    :class:`SubmissionRefused` when the key is malformed or made a submission to another task."""
    key = idempotency_key_check(key=header)
    return key, submission_replay(task=task, user=user, idempotency_key=key)


def submission_create(
    *,
    task: Task,
    user: AbstractBaseUser | AnonymousUser,
    file: UploadedFile,
    note: str = "",
    idempotency_key: str = "",
    scored: Scored | None = None,
    arrived_in: Phase | None = None,
    admission: Admission | None = None,
) -> Submission:
    """Check the upload cheaply, store it and queue it for scoring once committed.

    Raises :class:`SubmissionRefused` (nothing stored, nothing created) when the user may
    not submit, the file is obviously not a submission, the team used today's quota, its
    upload rate or its storage quota, or storage is unavailable. Full validation happens in
    the worker. The upload counts against the team's rate from here on (its body arrived).

    With ``idempotency_key`` (``idempotency_key_check``): an upload sent again with the
    same key (a client that lost the answer) gets the submission the first one made,
    marked ``replayed``; nothing is stored or counted twice, even when both arrive at once
    (the key is unique per team in the database).

    With ``scored`` (a team's algorithm run: the file scored in its worker from what its
    output check aligned), every check and the stored file are the same, and the submission
    is scored in the transaction that creates it instead of queued (no second job, no
    second parse); queued as without it when that fails (:func:`submission_score_here`).

    The submission records the phase open at its arrival (``arrived_in``: a run's, the one
    open when it was queued); none after the last phase's end (the post-challenge board).

    ``admission``: what :func:`submission_admission_check` found before the body was read,
    in the same request (the API view's, the web form's middleware's); it is not asked
    again (the rate is taken, the daily limit and quota asked again under the team's lock
    below, whether the team was hidden read with its lock). Only the phase is asked again,
    as the body may have arrived after it ended.
    """
    replay = submission_replay(task=task, user=user, idempotency_key=idempotency_key)
    if replay is not None:
        return replay
    if admission is None or not admission.holds_for(task=task, user=user):
        admission = submission_admission_check(task=task, user=user, arrived_in=arrived_in)
        phase, daily_limit = admission.phase, admission.daily_limit  # asked just now
    else:  # asked before the body was read: the phase open now, and its limit
        phase = submission_phase(challenge=task.track.challenge, arrived_in=arrived_in)
        daily_limit = _daily_limit_now(task=task, phase=phase, arrived_in=arrived_in)
    team = admission.team
    with refused_as(refusal=SubmissionRefused):
        upload_rate_take(team=team)
    file_format = _sniff(file)
    if scored is None:  # an upload is refused before its body is stored; a run's file is
        # on the worker's disk already, and the check under the team's lock below decides
        with refused_as(refusal=SubmissionRefused):
            upload_quota_check(team=team, adding_bytes=file.size or 0, use=admission.storage)

    submission = Submission(
        task=task,
        team=team,
        uploaded_by=user,
        phase=phase,
        note=note.strip()[:500],
        original_name=(file.name or "")[-255:],
        file_format=file_format,
        file_size=file.size or 0,
        idempotency_key=idempotency_key,
    )
    _store_upload(submission=submission, file=file, file_format=file_format)
    try:
        # With a key, a run again of this request (the database lost after the commit:
        # runtime/wsgi_retry.py) finds this submission and answers it.
        with replay_safe(bool(idempotency_key)), transaction.atomic():
            # Serializes the uploads of one person, then of one team (PostgreSQL row locks,
            # always in this order; on SQLite the IMMEDIATE transaction already serializes
            # writers), so two uploads can never both take the last slot of the day.
            get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk").get()
            locked = (
                Team.objects.select_for_update()
                .filter(pk=team.pk)
                .values_list("pk", "is_hidden")
                .first()
            )
            if locked is None or not team.memberships.filter(user=user).exists():
                # The person left (and an empty team went) while the file was stored: the
                # leave holds the same lock, so either it sees this upload or this sees it.
                raise SubmissionRefused(
                    "no_team",
                    "You left the team while the file was uploading; nothing was submitted.",
                    403,
                )
            if locked[1]:  # hidden while the file was uploading (asked at admission too)
                raise _hidden(team)
            _check_daily_limit(team=team, task=task, user=user, phase=phase, limit=daily_limit)
            with refused_as(refusal=SubmissionRefused):  # under the team's lock: the last room once
                upload_quota_check(team=team, adding_bytes=submission.file_size)
            _queue(submission, scored=scored)
    except IntegrityError:
        delete_file_quietly(submission.file.storage, submission.file.name)
        # The same key's twin committed first (both were sent at once): that one is it.
        twin = submission_replay(task=task, user=user, idempotency_key=idempotency_key)
        if twin is None:
            raise
        return twin
    except BaseException:
        delete_file_quietly(submission.file.storage, submission.file.name)
        raise
    logger.info(
        "submission %s %s (%s, team %s)", submission.pk, submission.status, task.slug, team.pk
    )
    return submission


def submission_create_for_job(
    *, task: Task, team: Team, predictions: Path, note: str, name: str
) -> Submission:
    """Store a job's ``predictions`` file as a queued submission of ``team`` (a baseline run,
    an algorithm run); scoring is published when the caller's transaction commits.

    Call it inside the transaction that finishes the job, holding the job's lock: the
    submission exists exactly when the job records it. The file is sniffed and size-capped
    like an upload (raises :class:`SubmissionRefused`, nothing stored) and the worker
    validates and scores it like any team's file. Only the participant checks are skipped:
    a job's team has no uploading member, submits whether or not the challenge is open, and
    has no daily limit. ``name`` is the stored file's stem (e.g. ``baseline-12``).
    """
    with open(predictions, "rb") as handle:
        file = File(handle, name=predictions.name)
        file_format = _sniff(file)
        submission = Submission(
            task=task,
            team=team,
            uploaded_by=None,
            phase=arrival_phase(task=task),
            note=note[:500],
            original_name=predictions.name[-255:],
            file_format=file_format,
            file_size=file.size or 0,
        )
        _store_upload(submission=submission, file=file, file_format=file_format, stem=name)
    try:
        with transaction.atomic():
            _queue(submission)
    except BaseException:
        delete_file_quietly(submission.file.storage, submission.file.name)
        raise
    logger.info("submission %s queued for %s (%s)", submission.pk, team.name, task.slug)
    return submission


def _queue(submission: Submission, *, scored: Scored | None = None) -> None:
    """Inside a transaction: save the row as ``queued``, published for scoring on commit;
    with ``scored``, scored here instead (published only when that fails)."""
    submission.status = SubmissionStatus.QUEUED
    submission.status_changed_at = timezone.now()
    submission.save()
    if scored is not None and submission_score_here(submission=submission, scored=scored):
        return
    publish_scoring(submission_pk=submission.pk)


def _submitting_team(*, user: AbstractBaseUser, challenge: Challenge) -> Team:
    team = team_for_user(user=user, challenge=challenge)
    if team is None:
        raise SubmissionRefused(
            "no_team",
            "You are not in a team of this challenge; create or join a team before submitting.",
            403,
        )
    if team.is_hidden:
        raise _hidden(team)
    return team


def _hidden(team: Team) -> SubmissionRefused:
    """A hidden team's refusal: asked at admission, and again under the team's lock."""
    return SubmissionRefused("team_hidden", team.hidden_refusal("cannot submit"), 403)


def submission_phase(*, challenge: Challenge, arrived_in: Phase | None = None) -> Phase | None:
    """The phase an upload arriving now belongs to; refused before the start (``not_open``)
    and between two phases (``no_open_phase``). After the end uploads still count: the task
    is a benchmark then, and they go to its post-challenge board (no phase), never into the
    final standings. ``arrived_in`` (an algorithm run's phase) is kept as it is."""
    if arrived_in is not None:
        return arrived_in
    now = timezone.now()
    if now < challenge.start:
        raise SubmissionRefused(
            "not_open",
            f"The challenge opens on {challenge.start:%Y-%m-%d %H:%M} UTC; "
            "submissions are accepted from then on.",
            403,
        )
    if now >= challenge.end:
        return None
    phase = phase_open(challenge=challenge, at=now)
    if phase is None:
        following = challenge.phases.filter(start__gt=now).order_by("start").first()
        when = (
            f" The next phase opens on {following.start:%Y-%m-%d %H:%M} UTC." if following else ""
        )
        raise SubmissionRefused(
            "no_open_phase", "No phase of the challenge is open now." + when, 403
        )
    return phase


def _daily_limit_now(*, task: Task, phase: Phase | None, arrived_in: Phase | None) -> int:
    """Today's limit (:func:`scoring.selectors.submission_daily_limit`) for a submission of
    ``phase`` (:func:`submission_phase`'s answer, now): an upload's phase is the open one; a
    run's (``arrived_in``) may have ended since, so the open one is asked."""
    open_phase = phase if arrived_in is None else phase_open(challenge=task.track.challenge)
    return submission_daily_limit(task=task, open_phase=open_phase)


def arrival_phase(*, task: Task) -> Phase | None:
    """The phase a job arriving now belongs to (an algorithm run, the baseline's submission):
    the one open now, if any; none after the end."""
    challenge = task.track.challenge
    if timezone.now() >= challenge.end:
        return None
    return phase_open(challenge=challenge)


def _sniff(file: File) -> str:
    """The format from the first bytes: csv, csv.gz or parquet; refuse the obvious misfits."""
    size = file.size or 0
    limit = settings.SUBMISSION_MAX_BYTES
    if size > limit:
        raise SubmissionRefused(
            "too_large",
            f"The file is {byte_size(size)}; the limit is {byte_size(limit)}.",
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


def _check_daily_limit(
    *, team: Team, task: Task, user: AbstractBaseUser, phase: Phase | None, limit: int
) -> None:
    """The daily limit (``limit``: :func:`scoring.selectors.submission_daily_limit`), per
    team and per person (docs/decisions/0021-one-entry-per-person.md, "Team hopping"), and
    the phase's cap over its whole span (``max_submissions``)."""
    if phase is not None and phase.max_submissions is not None:
        made = (
            Submission.objects.filter(team=team, task=task, phase=phase)
            .exclude(status=SubmissionStatus.FAILED)
            .count()
        )
        if made >= phase.max_submissions:
            raise SubmissionRefused(
                "max_submissions",
                f"Your team has made its {phase.max_submissions} submissions for this task in "
                f"the phase “{phase.title}”. Failed submissions do not count.",
                403,
            )
    usage, own = submission_daily_usages(team=team, user=user, task=task, limit=limit)
    if usage.used >= usage.limit:
        raise SubmissionRefused(
            "daily_limit",
            f"Your team has used its {usage.limit} submissions for this task today; the limit "
            f"resets at {usage.resets_at:%Y-%m-%d %H:%M} UTC. Failed submissions do not count.",
            429,
            retry_after=usage.resets_at,
        )
    if own.used >= own.limit:
        raise SubmissionRefused(
            "daily_limit",
            f"You have used your {own.limit} submissions for this task today (the limit is per "
            f"person as well as per team, whatever team you are in); it resets at "
            f"{own.resets_at:%Y-%m-%d %H:%M} UTC. Failed submissions do not count.",
            429,
            retry_after=own.resets_at,
        )


def _store_upload(
    *, submission: Submission, file: File, file_format: str, stem: str | None = None
) -> None:
    name = f"{stem}-{uuid.uuid4().hex[:8]}" if stem else uuid.uuid4().hex
    name += FORMAT_SUFFIX[file_format]
    try:
        file.seek(0)
        submission.file.save(name, file, save=False)
    except Exception as exc:  # any storage backend error: local disk, S3, network
        logger.exception("could not store an upload for task %s", submission.task.slug)
        # A write that failed half-way (disk full) leaves a partial file under the name the
        # storage was given; the name is fresh (a UUID), so it can only be this upload's.
        field = submission.file.field
        delete_file_quietly(field.storage, field.generate_filename(submission, name))
        raise SubmissionRefused(
            "storage_unavailable",
            "The file could not be stored right now, so nothing was submitted and nothing "
            "counts against your limit. Please try again in a few minutes.",
            503,
        ) from exc
