"""A new version of a task's data, uploaded by its owners or an organizer (issue 51): stored
by the web process, checked by a worker.

Parsing a bundle (up to ``BUNDLE_MAX_BYTES``, 1 GB) is an import's work: reading every file,
standardizing it to CSV and Parquet, the leak probe. The web process no longer does it. An
upload (the task owner's page, the console, ``POST /api/v1/tasks/<slug>/versions/``):

1. is admitted before its body is read (:func:`task_version_upload_admission`: who may, the
   size cap, and for a task owner the team's upload budget, ``challenges.
   upload_budget``: its rate, the task's ``TASK_VERSION_UPLOADS_PER_DAY`` and the storage
   quota against the announced size); organizers are not charged;
2. once its body arrived (:func:`task_version_upload_create`), counts against the team's
   rate, needs its reason, must fit the quota, and is stored as it is (private storage) with
   a queued :class:`~datasets.models.TaskVersionUpload`, published after commit; the answer
   is 202 with the upload's status, which the owner polls
   (``GET /api/v1/tasks/<slug>/versions/uploads/<id>/``) and the data page shows;
3. is checked by a worker (:func:`task_version_check`, a job of the one lifecycle,
   ``datasets.job_types.VERSION_CHECK``): ``task_bundle_replace`` with the import's own
   checks and caps, within ``TASK_VERSION_CHECK_SECONDS``. A valid bundle becomes the task's
   next version in the transaction that ends the job (``accepted``), after the team's quota
   is checked again on the bytes the version stores; an invalid one is ``refused`` with
   every problem, and nothing changes. Either way the uploaded bundle is deleted.

Refused before anything is stored raises :class:`VersionUploadRefused`. A worker that dies
mid-check gives the job back to the queue while it has attempts (the holders' sweep at
once, :func:`task_version_uploads_sweep` as the last resort), then it fails with the reason.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from billiard.exceptions import SoftTimeLimitExceeded  # celery.exceptions's, without kombu
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.files.uploadedfile import UploadedFile
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import get_valid_filename

from challenges.audit import ReasonRequired, reason_check
from challenges.models import Phase, Team
from challenges.selectors import is_organizer
from challenges.stored_files import StoredFile, delete_on_commit
from challenges.upload_budget import (
    StoredFiles,
    UploadBudgetExceeded,
    refused_as,
    team_upload_lock,
    upload_admission,
    upload_daily_check,
    upload_day_start,
    upload_quota_check,
    upload_rate_take,
)
from common.files import delete_file_quietly, local_path
from common.refusals import Refusal
from datasets.forms import too_big_message
from datasets.job_types import VERSION_CHECK
from datasets.models import Task, TaskVersion, TaskVersionUpload, VersionUploadStatus
from datasets.phase_versions import phase_started
from datasets.replace import TaskReplaceError, task_bundle_replace, version_summary
from datasets.selectors import task_manage_refusal, task_owner_upload_team
from datasets.versions import version_changes
from jobs import lifecycle, sweeps
from jobs.holders import when_holder_lost

logger = logging.getLogger(__name__)

PENDING = (VersionUploadStatus.QUEUED, VersionUploadStatus.CHECKING)
# Multipart framing and the reason around the file: a body this much over the cap may still
# hold a bundle within it.
MULTIPART_SLACK_BYTES = 64 * 1024
REASON_REQUIRED = "a reason is required: replacing the data re-scores every team's submissions"
INTERNAL_ERROR = (
    "An internal error stopped the check of this bundle (it is in the server log); nothing "
    "was changed. Upload it again, or ask the organizers."
)


class VersionUploadRefused(Refusal):
    """An upload refused before anything was stored or queued: ``message`` for the person,
    ``problems`` every reason found (one, or the missing reason)."""

    def __init__(
        self,
        code: str,
        message: str,
        http_status: int = 400,
        retry_after: datetime | None = None,
        problems: list[str] | None = None,
    ) -> None:
        super().__init__(code, message, http_status, retry_after=retry_after)
        self.problems = problems if problems is not None else [message]


User = AbstractBaseUser | AnonymousUser


def version_uploads_today(*, task: Task) -> int:
    """The task owners' uploads to ``task`` since UTC midnight that count against its daily
    limit: waiting, being checked or accepted (a refused or failed one does not count)."""
    return TaskVersionUpload.objects.filter(
        task=task,
        team__isnull=False,
        created_at__gte=upload_day_start(),
        status__in=(*PENDING, VersionUploadStatus.ACCEPTED),
    ).count()


def _daily_check(task: Task) -> None:
    limit = settings.TASK_VERSION_UPLOADS_PER_DAY
    upload_daily_check(
        used=version_uploads_today(task=task),
        limit=limit,
        code="version_limit",
        refused=f"The task's owners have used today's {limit} data version upload"
        f"{'s' if limit != 1 else ''} of '{task.slug}' (each one re-scores every team)",
    )


def _too_big(size: int) -> VersionUploadRefused:
    return VersionUploadRefused("too_large", too_big_message(size), 413)


def task_version_upload_admission(
    *, task: Task, user: User, declared_bytes: int | None = None
) -> Team | None:
    """The refusals that need no byte of the bundle: not a manager of the task (403), a
    declared body over the size cap (413), and for a task owner the team's budget: today's
    uploads of the task used (429), its upload rate used (429), the announced body over its
    storage quota (413). Call it before the body is read;
    :func:`task_version_upload_create` calls it again. Returns the team charged (None: an
    organizer's upload)."""
    refusal = task_manage_refusal(task=task, user=user)
    if refusal is not None:
        raise VersionUploadRefused(refusal.code, refusal.message, 403)
    cap = settings.BUNDLE_MAX_BYTES + MULTIPART_SLACK_BYTES
    if declared_bytes is not None and declared_bytes > cap:
        raise _too_big(declared_bytes)
    team = task_owner_upload_team(task=task, user=user)
    if team is not None:
        with refused_as(refusal=VersionUploadRefused):
            _daily_check(task)
            upload_admission(team=team, declared_bytes=declared_bytes)
    return team


def task_version_upload_create(
    *, task: Task, user: User, file: UploadedFile, reason: str, phase: Phase | None = None
) -> TaskVersionUpload:
    """Store the uploaded bundle and queue its check (published once committed). With
    ``phase`` (organizers only, a phase of the task's challenge not started yet) the checked
    bundle is staged as that phase's own data (``datasets.phase_versions``).

    Raises :class:`VersionUploadRefused` (nothing stored, nothing queued) when
    :func:`task_version_upload_admission` refuses, the bundle is over the size cap, the
    reason is missing, or it would take the team over its storage quota. For a task owner
    the upload counts against the team's rate from here on (its body arrived)."""
    team = task_version_upload_admission(task=task, user=user)
    if phase is not None:
        _phase_check(task=task, user=user, phase=phase)
    if team is not None:
        with refused_as(refusal=VersionUploadRefused):
            upload_rate_take(team=team)
    size = file.size or 0
    if size > settings.BUNDLE_MAX_BYTES:
        raise _too_big(size)
    try:
        reason = reason_check(action="task.replace", reason=reason, actor=user)
    except ReasonRequired:
        raise VersionUploadRefused("bundle_invalid", REASON_REQUIRED) from None
    if team is not None:
        with refused_as(refusal=VersionUploadRefused):
            upload_quota_check(team=team, adding_bytes=size)
    upload = TaskVersionUpload(
        task=task,
        team=team,
        created_by=user if user.is_authenticated else None,
        reason=reason,
        bundle_name=(get_valid_filename(Path(file.name or "").name) or "bundle.zip")[-255:],
        bundle_size=size,
        phase=phase,
    )
    _store_bundle(upload, file)
    field, name = upload.bundle.field, upload.bundle.name
    try:
        with transaction.atomic():
            # Uploads to one task take turns (its day's count), then the team's (the quota's
            # last room): the order a data version's own check keeps.
            Task.objects.select_for_update().filter(pk=task.pk).values_list("pk").get()
            if team is not None:
                team_upload_lock(team=team)
                with refused_as(refusal=VersionUploadRefused):
                    _daily_check(task)
                    upload_quota_check(team=team, adding_bytes=size)
            upload.status = VersionUploadStatus.QUEUED
            upload.status_changed_at = timezone.now()
            upload.save()
            lifecycle.publish_job_after_commit(job_type=VERSION_CHECK, pk=upload.pk)
    except BaseException:
        delete_file_quietly(field.storage, name)
        raise
    logger.info("task %s: data version upload %s queued", task.slug, upload.pk)
    return upload


def _phase_check(*, task: Task, user: User, phase: Phase) -> None:
    """A phase's own data is staged by an organizer, for a phase of the task's challenge
    that has not started (refused ``invalid_phase``, 400; a task owner: 403)."""
    if not is_organizer(user=user):
        raise VersionUploadRefused(
            "permission_denied", "Only organizers stage a phase's own data.", http_status=403
        )
    if phase.challenge_id != task.track.challenge_id or phase_started(phase=phase):
        raise VersionUploadRefused(
            "invalid_phase",
            f"'{phase.slug}' is not a phase of this challenge that has yet to start: a"
            " phase's data is staged before its start.",
        )


def _store_bundle(upload: TaskVersionUpload, file: UploadedFile) -> None:
    """Store the uploaded zip under a fresh name (private storage); any storage error (disk
    full, an object store away) is the uploader's 503, and what a failed write left under
    that name is removed (the name is this upload's alone)."""
    name = f"{uuid.uuid4().hex}.zip"
    try:
        file.seek(0)
        upload.bundle.save(name, file, save=False)
    except Exception as exc:
        logger.exception("could not store a data version of %s", upload.task.slug)
        field = upload.bundle.field
        delete_file_quietly(field.storage, field.generate_filename(upload, name))
        raise VersionUploadRefused(
            "storage_unavailable",
            "The bundle could not be stored right now, so nothing was changed and nothing "
            "counts against your limits but the upload rate. Please try again in a few minutes.",
            503,
        ) from exc


def version_upload_message(*, upload: TaskVersionUpload) -> str:
    """Where an upload stands, in words (the API's ``message``, the data page's line)."""
    status = upload.status
    if status == VersionUploadStatus.QUEUED:
        return (
            "Received: a worker checks the bundle as an import is checked (every problem is"
            " listed); the data changes only if it is valid. This upload's status says when."
        )
    if status == VersionUploadStatus.CHECKING:
        return "A worker is checking the bundle; the data changes only if it is valid."
    if status == VersionUploadStatus.ACCEPTED and upload.version is not None:
        number = upload.version.number
        return version_summary(task=upload.task, version=upload.version, previous=number - 1)
    if status == VersionUploadStatus.REFUSED:
        count = len(upload.problems or [])
        return f"The data was not replaced ({count} problem{'s' if count != 1 else ''})."
    return upload.error or INTERNAL_ERROR


def task_version_upload_get(
    *, task: Task, pk: int, user: User | None = None
) -> TaskVersionUpload | None:
    return (
        _uploads_seen(task=task, user=user)
        .filter(pk=pk)
        .select_related("task", "created_by", "version")
        .first()
    )


def _uploads_seen(*, task: Task, user: User | None):
    """The task's uploads ``user`` may know of: a bundle staged for a phase is the
    organizers' (``datasets.phase_versions``); ``None``: the console's (organizers)."""
    uploads = TaskVersionUpload.objects.filter(task=task)
    if user is not None and not is_organizer(user=user):
        uploads = uploads.filter(phase__isnull=True)
    return uploads


def task_version_uploads_recent(
    *, task: Task, limit: int = 10, user: User | None = None
) -> list[TaskVersionUpload]:
    """The task's newest uploads (what its data page lists, with their statuses)."""
    return list(
        _uploads_seen(task=task, user=user)
        .select_related("created_by", "version")
        .order_by("-created_at", "-pk")[:limit]
    )


def team_task_data(*, team_pk: int) -> list[StoredFiles]:
    """What ``team`` stores of task data (``team_storage_register``): the versions its
    members uploaded that keep their files, and the bundles waiting for their check."""
    return [
        StoredFiles(
            rows=TaskVersion.objects.filter(team_id=team_pk, pruned_at__isnull=True),
            size="stored_bytes",
        ),
        StoredFiles(
            rows=TaskVersionUpload.objects.filter(team_id=team_pk, status__in=PENDING),
            size="bundle_size",
        ),
    ]


# --- the check (a worker) ----------------------------------------------------------------------


class _Superseded(Exception):
    """This delivery no longer holds the job: the version it made is rolled back."""


def task_version_check(*, upload_pk: int, delivery_id: str | None = None) -> str:
    """Check upload ``upload_pk``'s bundle and make it the task's next version, or refuse it
    with every problem; the status it ended in (or ``skipped``, ``superseded``). Safe for
    any message, any number of times (:func:`jobs.lifecycle.job_claim`): the version and the
    job's end commit together. A database outage propagates (the Celery task retries)."""
    token = delivery_id or uuid.uuid4().hex
    upload = lifecycle.job_claim(
        job_type=VERSION_CHECK,
        pk=upload_pk,
        token=token,
        delivery_id=delivery_id,
        exhausted=lambda job, now: _failed_fields(job),
        select_related=("task", "task__owner_team", "team", "created_by", "phase__challenge"),
    )
    if upload is None:
        return "skipped"
    task = upload.task
    actor = upload.created_by
    if actor is not None and task_manage_refusal(task=task, user=actor) is not None:
        return _end(
            upload,
            token,
            VersionUploadStatus.REFUSED,
            problems=[f"{actor.get_username()} no longer manages the task '{task.slug}'."],
        )
    try:
        with _bundle_on_disk(upload) as source:
            replaced = task_bundle_replace(
                task=task,
                source=source,
                actor=actor,
                reason=upload.reason,
                team=upload.team,
                counted_bytes=upload.bundle_size,
                within=lambda version, warnings: _accept(upload, token, version, warnings),
                phase=upload.phase,
            )
    except TaskReplaceError as exc:
        return _end(upload, token, VersionUploadStatus.REFUSED, problems=exc.problems)
    except UploadBudgetExceeded as exc:  # the quota, on what the version would store
        return _end(upload, token, VersionUploadStatus.REFUSED, problems=[exc.message])
    except _Superseded:
        return "superseded"
    except (OperationalError, InterfaceError):
        raise
    except SoftTimeLimitExceeded:
        seconds = settings.TASK_VERSION_CHECK_SECONDS
        return _end(
            upload,
            token,
            VersionUploadStatus.REFUSED,
            problems=[
                f"Checking the bundle took longer than its limit of {seconds} seconds "
                "(TASK_VERSION_CHECK_SECONDS); nothing was changed."
            ],
        )
    except Exception:
        logger.exception("task %s: the check of upload %s failed", task.slug, upload.pk)
        return lifecycle.job_retry_or_fail(
            job_type=VERSION_CHECK,
            job=upload,
            token=token,
            fail=lambda: _end(upload, token, VersionUploadStatus.FAILED, error=INTERNAL_ERROR),
        )
    version_changes(version=replaced.version)  # counted now, read by pages and the API
    logger.info("task %s: upload %s is version %s", task.slug, upload.pk, replaced.version.number)
    return VersionUploadStatus.ACCEPTED


def _bundle_file(upload: TaskVersionUpload) -> list[StoredFile]:
    field = upload.bundle
    return [StoredFile(field.storage, field.name, TaskVersionUpload, "bundle")] if field else []


def _accept(
    upload: TaskVersionUpload, token: str, version: TaskVersion, warnings: tuple[str, ...]
) -> None:
    """Inside the transaction that makes ``version``: the job ends ``accepted`` with it, or,
    when this delivery lost the job, nothing is made (:class:`_Superseded`)."""
    files = _bundle_file(upload)
    done = lifecycle.job_transition(
        job_type=VERSION_CHECK,
        pk=upload.pk,
        token=token,
        status=VersionUploadStatus.ACCEPTED,
        version=version,
        warnings=list(warnings),
        problems=[],
        error="",
        bundle="",
        then=lambda: delete_on_commit(files=files),
    )
    if not done:
        raise _Superseded


def _end(upload: TaskVersionUpload, token: str, status: str, **fields: Any) -> str:
    """End the job ``status`` (refused, failed) with ``fields``; its bundle goes once that
    commits."""
    files = _bundle_file(upload)
    done = lifecycle.job_transition(
        job_type=VERSION_CHECK,
        pk=upload.pk,
        token=token,
        status=status,
        bundle="",
        then=lambda: delete_on_commit(files=files),
        **fields,
    )
    return status if done else "superseded"


def _failed_fields(upload: TaskVersionUpload) -> dict[str, Any]:
    """Inside the transaction that fails ``upload`` (attempts used up, a dead worker's last
    one): its fields, and its bundle deleted once that commits."""
    delete_on_commit(files=_bundle_file(upload))
    return {"error": INTERNAL_ERROR, "bundle": ""}


@contextlib.contextmanager
def _bundle_on_disk(upload: TaskVersionUpload) -> Iterator[Path]:
    """The stored bundle as a local file under its uploaded name (the problems quote it), in
    a staging folder removed at the end: a hard link to a local storage's file, else a copy
    (an object store's, streamed)."""
    staging = Path(settings.DATA_DIR) / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    storage, name = upload.bundle.storage, upload.bundle.name
    with tempfile.TemporaryDirectory(prefix="version-", dir=staging) as folder:
        target = Path(folder) / upload.bundle_name
        stored = local_path(storage, name)
        try:
            if stored is None:
                raise OSError("no local file")
            os.link(stored, target)
        except OSError:
            with storage.open(name, "rb") as source, target.open("wb") as out:
                shutil.copyfileobj(source, out, 1024 * 1024)
        yield target


# --- the sweeper -------------------------------------------------------------------------------


@when_holder_lost(job_type=VERSION_CHECK)
def _decide(upload: TaskVersionUpload, now: datetime) -> tuple[str, dict[str, Any]]:
    """A stranded check (its worker dead, or stale) goes back to the queue while it has
    attempts left; else it fails with the reason (and its bundle goes)."""
    if lifecycle.attempts_left(job_type=VERSION_CHECK, job=upload) <= 0:
        return lifecycle.FAILED, _failed_fields(upload)
    return lifecycle.REQUEUED, {}


def task_version_uploads_sweep(*, now: datetime | None = None) -> sweeps.SweepReport:
    """Re-queue checks stuck in ``checking`` past their hard time limit and a minute (the
    last resort: a dead worker's are taken back by the holders' sweep at once, a queued
    upload whose message was lost is :mod:`jobs.republish`'s)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.TASK_VERSION_CHECK_SECONDS + 120)
    stale = Q(status=VersionUploadStatus.CHECKING) & (
        Q(status_changed_at__lt=cutoff) | Q(status_changed_at__isnull=True)
    )
    return sweeps.jobs_sweep(job_type=VERSION_CHECK, stale=stale, now=now, decide=_decide)
