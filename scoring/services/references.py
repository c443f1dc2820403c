"""Writes of a task's references (docs/architecture.md §11): the trivial baseline,
uploads, the primary.

Every reference file goes through the scoring core exactly as a submission does
(``score_file``: the same reader, size cap, id checks and metrics), and its aligned
predictions are kept for flips. A refused file changes nothing and says why. A change of
references refreshes the task's boards (``challenges.hooks``), whose bootstrap then
recomputes the flip columns against the primary reference.

Task owners act within the rules (issue 25; organizers are not limited): an upload needs
the challenge's current rules accepted and a team that is not hidden, and counts against
``REFERENCE_UPLOADS_PER_DAY`` per task and UTC day (refused ones do not; removing one does
not give it back) and against the team's upload budget (issue 51,
``challenges.upload_budget``: its upload rate with every other kind of upload, and
its storage quota on the file's bytes, until the reference is removed); once the challenge
has started, choosing, or removing, the primary reference is an organizer's decision (prize
eligibility is measured against it). Every upload, removal and primary change is an audit
event.
"""

from __future__ import annotations

import io
import math
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from challenges import hooks
from challenges.audit import audit_record
from challenges.models import AuditEvent, Team
from challenges.rules import rules_gate
from challenges.selectors import is_organizer
from challenges.upload_budget import (
    refused_as,
    team_upload_lock,
    upload_admission,
    upload_daily_check,
    upload_day_start,
    upload_quota_check,
    upload_rate_take,
)
from common.units import byte_size
from datasets.models import Task
from datasets.selectors import task_manage_refusal, task_owner_upload_team
from kinds import kind_get
from scoring.core import SubmissionInvalid, primary_metric, score_file
from scoring.core import save_predictions as predictions_to_bytes
from scoring.models import Reference, ReferenceSource, Submission, SubmissionStatus
from scoring.reference_selectors import primary_reference
from scoring.services.lifecycle import primary_scores
from scoring.solutions import solution_for_task

AUTOGLUON_NAME = "AutoGluon baseline"
TRIVIAL_NAME = "Trivial baseline"
RESERVED_NAMES = {AUTOGLUON_NAME.casefold(), TRIVIAL_NAME.casefold()}
NAME_MAX = 80


class ReferenceRefused(Exception):
    """An upload or a primary choice that cannot be accepted; ``str()`` says why.

    ``status`` is the HTTP status an API answers with, ``code`` the rule's name,
    ``retry_after`` when the same upload may succeed later (the team's rate, the day's
    limit)."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        code: str = "reference_refused",
        retry_after: datetime | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after

    def retry_seconds(self) -> int | None:
        if self.retry_after is None:
            return None
        return max(math.ceil((self.retry_after - timezone.now()).total_seconds()), 0)


def _budget_refused(
    code: str, message: str, http_status: int, retry_after: datetime | None = None
) -> ReferenceRefused:
    """The upload budget's refusal as this app's (``upload_budget.refused_as``)."""
    return ReferenceRefused(message, status=http_status, code=code, retry_after=retry_after)


User = AbstractBaseUser | AnonymousUser | None


def _organizer(user: User) -> bool:
    """Organizers, and the system (``None``: commands, data-version refreshes)."""
    return user is None or is_organizer(user=user)


def reference_uploads_today(*, task: Task, now: datetime | None = None) -> int:
    """Uploads by task owners (not organizers) to ``task`` since UTC midnight, from the
    append-only audit log (so a removed reference still counts)."""
    since = upload_day_start(now=now)
    return AuditEvent.objects.filter(
        action="reference.upload",
        object_type=Task._meta.label,
        object_id=str(task.pk),
        at__gte=since,
        actor__isnull=False,
        actor__is_staff=False,
    ).count()


def _owner_may_upload(*, task: Task, user: User) -> None:
    """The task owner's gate (organizers pass): current rules accepted (RulesNotAccepted),
    the owner role (``task_manage_refusal``: a member of a team that is not hidden or
    disqualified), and an upload left today."""
    challenge = task.track.challenge
    rules_gate(challenge=challenge, user=user)
    refusal = task_manage_refusal(task=task, user=user)
    if refusal is not None:
        raise ReferenceRefused(refusal.message, status=403, code=refusal.code)
    _check_upload_limit(task=task)


def _check_upload_limit(*, task: Task) -> None:
    limit = settings.REFERENCE_UPLOADS_PER_DAY
    with refused_as(refusal=_budget_refused):
        upload_daily_check(
            used=reference_uploads_today(task=task),
            limit=limit,
            code="reference_limit",
            refused=f"The task's owners have used today's {limit} reference upload(s) of "
            f"'{task.slug}'",
        )


def reference_upload_admission(
    *, task: Task, user: User, declared_bytes: int | None = None
) -> Team | None:
    """The refusals that need no byte of the file, for a task owner (organizers pass, and
    are not charged): the rules, the owner role, today's uploads of the task, the team's
    upload rate (429) and a declared body over its storage quota (413). Views call it
    before the body is read; :func:`reference_upload` calls it again. Returns the team
    charged (None: an organizer's upload)."""
    if _organizer(user):
        return None
    _owner_may_upload(task=task, user=user)
    team = task_owner_upload_team(task=task, user=user)
    with refused_as(refusal=_budget_refused):
        upload_admission(team=team, declared_bytes=declared_bytes)
    return team


def _primary_change_allowed(*, task: Task, user: User, what: str) -> None:
    """After the challenge's start only an organizer changes which reference is primary."""
    challenge = task.track.challenge
    if not _organizer(user) and timezone.now() >= challenge.start:
        raise ReferenceRefused(
            f"{what}: the challenge started on {challenge.start:%Y-%m-%d %H:%M} UTC, and from "
            "then on only an organizer may change the primary reference (every team's prize "
            "eligibility is measured against it). Ask the organizers.",
            status=403,
            code="primary_locked",
        )


def _primary_name(task: Task) -> str | None:
    primary = primary_reference(task=task)
    return primary.name if primary is not None else None


def reference_score_into(
    *, reference: Reference, task: Task, source: Any, max_bytes: int | None
) -> None:
    """Score ``source`` like a submission and keep scores and predictions on ``reference``."""
    solution = solution_for_task(task=task)
    result = score_file(source, solution, max_bytes=max_bytes)
    primary = primary_metric(task.kind, task.primary_metric)
    fields = primary_scores(scores=result.scores(), primary=primary)
    for name, value in fields.items():
        setattr(reference, name, value)
    reference.predictions.save(
        "predictions.npz", ContentFile(predictions_to_bytes(result.aligned)), save=False
    )


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ReferenceRefused("A reference needs a name, e.g. 'production model, September'.")
    if len(name) > NAME_MAX:
        raise ReferenceRefused(f"A reference name has at most {NAME_MAX} characters.")
    if name.casefold() in RESERVED_NAMES:
        raise ReferenceRefused(f"'{name}' is the name of a built-in reference; choose another.")
    return name


def reference_upload(
    *,
    task: Task,
    name: str,
    file: Any,
    user: User = None,
    make_primary: bool = False,
) -> Reference:
    """Score and store an uploaded reference file (organizers and task owners).

    Refused with :class:`ReferenceRefused` (nothing stored) for a bad name, a name already
    used on the task, a file above the submission size cap, a file the submission checks
    refuse (wrong or missing ids, bad columns...), and for a task owner: rules not accepted
    (``RulesNotAccepted``), a hidden team, no upload left today, or ``make_primary`` once
    the challenge has started.
    """
    organizer = _organizer(user)
    team = reference_upload_admission(task=task, user=user)
    if team is not None:
        with refused_as(refusal=_budget_refused):
            upload_rate_take(team=team)  # its body arrived: it counts, valid or not
    if not organizer and make_primary:
        _primary_change_allowed(task=task, user=user, what="This upload was not stored")
    name = _clean_name(name)
    if Reference.objects.filter(task=task, name__iexact=name).exists():
        raise ReferenceRefused(f"Task '{task.slug}' already has a reference named '{name}'.")
    size = getattr(file, "size", None)
    limit = settings.SUBMISSION_MAX_BYTES
    if size is not None and size > limit:
        raise ReferenceRefused(
            f"The reference file is {byte_size(size)}; the limit is {byte_size(limit)}, "
            "as for submissions."
        )
    data = file.read(limit + 1)
    if len(data) > limit:
        raise ReferenceRefused(f"The reference file is larger than the {byte_size(limit)} limit.")
    if team is not None:
        with refused_as(refusal=_budget_refused):
            upload_quota_check(team=team, adding_bytes=len(data))
    reference = Reference(
        task=task,
        name=name,
        source=ReferenceSource.UPLOAD,
        created_by=user if getattr(user, "is_authenticated", False) else None,
        team=team,
        file_size=len(data),
    )
    try:
        reference_score_into(
            reference=reference, task=task, source=io.BytesIO(data), max_bytes=limit
        )
    except SubmissionInvalid as exc:
        raise ReferenceRefused(f"The reference file is invalid: {exc.message}") from exc
    original = getattr(file, "name", "") or "reference.csv"
    suffix = ".csv.gz" if original.endswith(".gz") else "." + original.rsplit(".", 1)[-1][:8]
    try:
        with transaction.atomic():
            # Uploads to one task take turns: the day's count is checked again under the lock,
            # then the team's (the storage quota's last room goes once).
            Task.objects.select_for_update().filter(pk=task.pk).values_list("pk").get()
            if not organizer:
                _check_upload_limit(task=task)
            if team is not None:
                team_upload_lock(team=team)
                with refused_as(refusal=_budget_refused):
                    upload_quota_check(team=team, adding_bytes=len(data))
            before = _primary_name(task)
            if make_primary:
                Reference.objects.filter(task=task, is_primary=True).update(is_primary=False)
                reference.is_primary = True
            reference.file.save(f"upload{suffix}", ContentFile(data), save=False)
            reference.save()
            audit_record(
                actor=user,
                action="reference.upload",
                obj=task,
                after={"reference": name, "primary": make_primary},
            )
            after = _primary_name(task)
            if after != before:
                audit_record(
                    actor=user,
                    action="reference.primary",
                    obj=task,
                    before={"primary": before},
                    after={"primary": after},
                )
            hooks.emit(event=hooks.TaskResultsChanged(task_id=task.pk))
    except IntegrityError as exc:  # the same name uploaded at the same moment
        reference.predictions.delete(save=False)
        reference.file.delete(save=False)
        raise ReferenceRefused(
            f"Task '{task.slug}' already has a reference named '{name}'."
        ) from exc
    except ReferenceRefused:  # the day's last upload, or the quota's room, taken meanwhile
        reference.predictions.delete(save=False)
        reference.file.delete(save=False)
        raise
    return reference


def reference_primary_set(*, task: Task, name: str | None, user: User = None) -> Reference | None:
    """Mark the reference ``name`` as the task's primary one (None: back to the default).

    Once the challenge has started only an organizer may (``ReferenceRefused``, 403)."""
    _primary_change_allowed(task=task, user=user, what="The primary reference was not changed")
    with transaction.atomic():
        target = None
        if name:
            target = Reference.objects.filter(task=task, name__iexact=name.strip()).first()
            if target is None:
                known = ", ".join(
                    Reference.objects.filter(task=task).values_list("name", flat=True)
                )
                raise ReferenceRefused(
                    f"Task '{task.slug}' has no reference named '{name}'"
                    + (f" (it has: {known})." if known else ".")
                )
        before = _primary_name(task)
        Reference.objects.filter(task=task, is_primary=True).update(is_primary=False)
        if target is not None:
            target.is_primary = True
            target.save(update_fields=["is_primary"])
        audit_record(
            actor=user,
            action="reference.primary",
            obj=task,
            before={"primary": before},
            after={"primary": _primary_name(task), "marked": target is not None},
        )
        hooks.emit(event=hooks.TaskResultsChanged(task_id=task.pk))
    return target


def reference_delete(*, reference: Reference, user: User = None) -> None:
    """Remove an uploaded reference (built-in ones come back with the next refresh).

    Removing the primary one changes the primary: after the start, an organizer's call."""
    task = reference.task
    with transaction.atomic():
        before = _primary_name(task)
        if before is not None and before == reference.name:
            _primary_change_allowed(
                task=task, user=user, what=f"'{reference.name}' is the primary reference"
            )
        reference.delete()
        audit_record(
            actor=user,
            action="reference.delete",
            obj=task,
            before={"reference": reference.name, "primary": before},
            after={"primary": _primary_name(task)},
        )
        hooks.emit(event=hooks.TaskResultsChanged(task_id=task.pk))
    # its files go once the deletion commits (challenges.stored_files)


def trivial_submission(*, task: Task) -> bytes:
    """The trivial baseline of ``task`` as a submission CSV, built by its kind from the
    train labels (``TaskKind.trivial``: classification: the majority class, every class's
    prior as its probability; matching: no match, the base rate as ``score``; grouping:
    every record alone in its cluster...)."""
    solution = solution_for_task(task=task)
    with task.train_parquet.open("rb") as fh:
        labels = pq.read_table(fh, columns=["label"]).column("label")
    columns: dict[str, Any] = {"id": solution.ids}
    columns |= kind_get(task.kind).trivial(labels, solution)
    out = io.BytesIO()
    pacsv.write_csv(pa.table(columns), out)
    return out.getvalue()


def reference_trivial_ensure(*, task: Task) -> Reference | None:
    """Build and score the task's trivial baseline once (None if its labels cannot be read)."""
    existing = Reference.objects.filter(task=task, source=ReferenceSource.TRIVIAL).first()
    if existing is not None:
        return existing
    data = trivial_submission(task=task)
    reference = Reference(task=task, name=TRIVIAL_NAME, source=ReferenceSource.TRIVIAL)
    reference_score_into(reference=reference, task=task, source=io.BytesIO(data), max_bytes=None)
    reference.file.save("trivial.csv", ContentFile(data), save=False)
    try:
        with transaction.atomic():
            reference.save()
    except IntegrityError:  # built by another worker meanwhile
        reference.predictions.delete(save=False)
        reference.file.delete(save=False)
        return Reference.objects.filter(task=task, source=ReferenceSource.TRIVIAL).first()
    return reference


def reference_autogluon_sync(*, task: Task) -> Reference | None:
    """Point the AutoGluon reference at the baseline team's latest scored submission."""
    latest = (
        Submission.objects.filter(
            task=task,
            team__is_baseline=True,
            team__is_hidden=False,
            is_hidden=False,
            status=SubmissionStatus.SCORED,
        )
        .order_by("-created_at", "-pk")
        .first()
    )
    current = Reference.objects.filter(task=task, source=ReferenceSource.AUTOGLUON).first()
    if latest is None:
        if current is not None and not current.is_primary:
            current.delete()
        return None
    fields = {
        "submission": latest,
        "scores": latest.scores,
        "public_score": latest.public_score,
        "private_score": latest.private_score,
    }
    if current is None:
        try:
            with transaction.atomic():
                return Reference.objects.create(
                    task=task, name=AUTOGLUON_NAME, source=ReferenceSource.AUTOGLUON, **fields
                )
        except IntegrityError:
            current = Reference.objects.get(task=task, source=ReferenceSource.AUTOGLUON)
    if current.submission_id != latest.pk:
        for key, value in fields.items():
            setattr(current, key, value)
        current.save(update_fields=list(fields))
    return current
