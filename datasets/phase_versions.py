"""Which data version a reader, a phase, a submission or a run gets: the one rule
(docs/decisions/0066-phases.md, "A phase's own test set").

A task's data versions (docs/decisions/0025-task-data-versions.md) are of two sorts:

- an ordinary version (``TaskVersion.phase`` empty) is the data of every phase without its
  own: the newest one is what those phases' entries are scored on;
- a phase's own version (``phase`` set) is staged ahead of that phase (its files stored,
  nothing of it shown to participants: :func:`version_withheld`) and becomes the task's
  current data at the phase's start (:func:`phase_versions_release`, on the beat's phase
  tick). The newest version of a phase is what that phase's entries are scored on, on its
  own public/private split (the ``public_fraction`` and ``split_seed`` of its bundle,
  written into its solution).

The task's file fields always hold its current version (the one the boards' phase reads:
pages, downloads, the maintained board's bootstrap). A submission, an algorithm run and
their digests read the version of *their* phase (:func:`task_for_phase`), so an entry is
never scored on another phase's test set, however late it is scored or re-scored; a new
version re-scores only the entries that read it (:func:`requeue_phase_ids`).
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Max
from django.http import Http404
from django.utils import timezone

from challenges import hooks
from challenges.audit import audit_record
from challenges.models import Phase
from challenges.selectors import is_organizer
from common.refusals import Refusal
from datasets.models import BUNDLE_FIELDS, TASK_FILE_FIELDS, Task, TaskVersion

# What a version's bundle sets on the task besides its files, its card and its meta.
VERSION_FIELDS = tuple(name for name in BUNDLE_FIELDS if name not in ("card", "meta"))
FILE_FIELDS = TASK_FILE_FIELDS


class PhaseNotStarted(Refusal):
    """A file or description of a phase's own data asked before that phase started."""

    def __init__(self, phase: Phase) -> None:
        super().__init__(
            "phase_not_started",
            f"This data belongs to the phase '{phase.title}', which starts at "
            f"{phase.start.isoformat()}; it is released then.",
            http_status=403,
        )


def phase_started(*, phase: Phase, at: datetime | None = None) -> bool:
    """Whether ``phase`` has opened (a phase that would start at or after the challenge's
    end, ended early, never does)."""
    at = at or timezone.now()
    return phase.start <= at and phase.start < phase.challenge.end


def version_withheld(
    *, version: TaskVersion, user: AbstractBaseUser | AnonymousUser | None = None
) -> Phase | None:
    """The phase whose start ``version`` waits for, when ``user`` may not have it yet (a
    participant, before the phase starts); None when the version is open to them. Every
    route that serves or describes a version asks this."""
    if version.phase_id is None:
        return None
    phase = version.phase
    if phase_started(phase=phase):
        return None
    if user is not None and is_organizer(user=user):
        return None
    return phase


def version_refuse_withheld(
    *, version: TaskVersion, user: AbstractBaseUser | AnonymousUser | None
) -> None:
    """Raise :class:`PhaseNotStarted` when :func:`version_withheld`."""
    phase = version_withheld(version=version, user=user)
    if phase is not None:
        raise PhaseNotStarted(phase)


def versions_shown(*, task: Task, user: AbstractBaseUser | AnonymousUser | None):
    """``task``'s versions a reader may know of (newest first): a phase's version before
    its phase starts is an organizer's alone (no number, rows or ids of it show)."""
    versions = TaskVersion.objects.filter(task=task).select_related("created_by", "phase")
    if user is not None and is_organizer(user=user):
        return versions.order_by("-number")
    now = timezone.now()
    hidden = [
        v.pk
        for v in versions.filter(phase__isnull=False).select_related("phase__challenge")
        if not phase_started(phase=v.phase, at=now)
    ]
    return versions.exclude(pk__in=hidden).order_by("-number")


def phase_version(*, task: Task, phase_id: int | None) -> TaskVersion | None:
    """The version ``phase_id``'s entries on ``task`` are scored on: the phase's own newest,
    else the newest ordinary one; None for no phase (the post-challenge board, which reads
    the current data) or a task without versions."""
    if phase_id is None:
        return None
    # Read once per task object (a page or a sweep asks for many entries of one task).
    versions: list[TaskVersion] | None = task.__dict__.get("_phase_versions")
    if versions is None:
        versions = list(TaskVersion.objects.filter(task=task).order_by("-number"))
        task.__dict__["_phase_versions"] = versions
    own = [v for v in versions if v.phase_id == phase_id]
    ordinary = [v for v in versions if v.phase_id is None]
    return (own or ordinary or [None])[0]


def task_for_phase(*, task: Task, phase_id: int | None) -> Task:
    """``task`` as ``phase_id``'s entries see it: the task itself when that phase reads the
    current version, else an unsaved copy whose files and split are its version's (what
    scoring, a run's ``/task`` and the digests read)."""
    version = phase_version(task=task, phase_id=phase_id)
    if version is None or version.number == task.data_version:
        return task
    return task_as_version(task=task, version=version)


def task_as_version(*, task: Task, version: TaskVersion) -> Task:
    """An unsaved copy of ``task`` holding ``version``'s files and bundle fields."""
    seen = copy.copy(task)  # its file fields are all set below (each a new FieldFile)
    seen._state = copy.copy(task._state)
    meta = dict(version.meta or {})
    for name in VERSION_FIELDS:
        if name in ("train_rows", "test_rows"):
            setattr(seen, name, getattr(version, name))
        elif name in meta:
            setattr(seen, name, meta[name])
    seen.meta = meta or task.meta
    seen.card = dict(version.card or task.card or {})
    seen.data_version = version.number
    for name in FILE_FIELDS:
        setattr(seen, name, (version.files or {}).get(name, ""))
    return seen


def phases_with_own_version(*, task: Task) -> set[int]:
    """The phases with a version of their own on ``task``."""
    return set(
        TaskVersion.objects.filter(task=task, phase__isnull=False).values_list(
            "phase_id", flat=True
        )
    )


def versions_in_use(*, task: Task) -> set[int]:
    """The numbers of the versions some phase's entries read (never pruned)."""
    numbers = set(
        TaskVersion.objects.filter(task=task)
        .values("phase_id")
        .annotate(newest=Max("number"))
        .values_list("newest", flat=True)
    )
    return numbers | {task.data_version}


def requeue_phase_ids(*, task: Task, phase_id: int | None) -> tuple[set[int] | None, set[int]]:
    """Which entries a new version of ``task`` re-scores: ``(only, excluded)`` phase ids.
    A phase's version: that phase's entries only; an ordinary one: every entry but those of
    phases with their own version."""
    if phase_id is not None:
        return {phase_id}, set()
    return None, phases_with_own_version(task=task)


def phase_versions_release(*, phase_id: int, at: datetime | None = None) -> list[int]:
    """At ``phase_id``'s start (the beat's phase tick): every task's newest staged version
    of that phase becomes the task's current data (its files, fields and ``data_version``),
    once (a conditional update claims it), audited ``task.phase_release``; the layers above
    are told (``TaskDataChanged`` with the phase: that phase's entries re-scored, the
    references refreshed, the AutoGluon baseline and benchmark runs queued on it). Nothing
    of another phase is re-scored. Returns the task ids released."""
    at = at or timezone.now()
    released: list[int] = []
    staged = (
        TaskVersion.objects.filter(phase_id=phase_id, released_at__isnull=True)
        .order_by("task_id", "-number")
        .select_related("phase__challenge")
    )
    seen: set[int] = set()
    for version in staged:
        if version.task_id in seen or not phase_started(phase=version.phase, at=at):
            continue
        seen.add(version.task_id)
        with transaction.atomic():
            task = Task.objects.select_for_update().get(pk=version.task_id)
            claimed = TaskVersion.objects.filter(pk=version.pk, released_at__isnull=True).update(
                released_at=at
            )
            if not claimed:
                continue
            TaskVersion.objects.filter(
                task=task, phase_id=phase_id, released_at__isnull=True
            ).update(released_at=at)
            before = _swap(task, version)
            audit_record(
                actor=None,
                action="task.phase_release",
                obj=task,
                before=before,
                after={"data_version": task.data_version, "phase": version.phase.slug},
                reason=f"the phase '{version.phase.slug}' started",
            )
            hooks.emit(event=hooks.TaskDataChanged(task_id=task.pk, phase_id=phase_id))
        released.append(task.pk)
    return released


def phase_versions_release_due(*, at: datetime | None = None) -> list[int]:
    """Every minute (the datasets beat), the last resort: any staged version whose phase
    has started and that the phase tick's release missed (its receiver failed) is released
    now, as :func:`phase_versions_release` does. Returns the task ids released."""
    at = at or timezone.now()
    phase_ids = set(
        TaskVersion.objects.filter(
            phase__isnull=False, released_at__isnull=True, phase__start__lte=at
        ).values_list("phase_id", flat=True)
    )
    return [task for pk in sorted(phase_ids) for task in phase_versions_release(phase_id=pk, at=at)]


def _swap(task: Task, version: TaskVersion) -> dict[str, Any]:
    before = {
        "data_version": task.data_version,
        "train_rows": task.train_rows,
        "test_rows": task.test_rows,
    }
    seen = task_as_version(task=task, version=version)
    for name in (*VERSION_FIELDS, *FILE_FIELDS, "meta", "card", "data_version"):
        setattr(task, name, getattr(seen, name))
    task.save()
    return before


def next_version_number(*, task: Task) -> int:
    """The number a new version of ``task`` takes (staged versions hold numbers too)."""
    top = TaskVersion.objects.filter(task=task).aggregate(top=Max("number"))["top"] or 0
    return max(top, task.data_version) + 1


def version_asked(
    *,
    task: Task,
    user: AbstractBaseUser | AnonymousUser | None,
    number: str | None = None,
    phase_slug: str | None = None,
) -> TaskVersion | None:
    """The version a download or a description asks for: ``?version=N`` or ``?phase=<slug>``
    (that phase's data, :func:`phase_version`); None for the current one. Raises
    ``Http404`` for no such version or phase, :class:`PhaseNotStarted` (403) when the
    version waits for its phase's start and ``user`` is not an organizer."""
    version = None
    if number:
        if not number.isdigit() or len(number) > 9:
            raise Http404("no such data version")
        version = TaskVersion.objects.filter(task=task, number=int(number)).first()
        if version is None:
            raise Http404("no such data version")
    elif phase_slug:
        phase = Phase.objects.filter(challenge_id=task.track.challenge_id, slug=phase_slug).first()
        if phase is None:
            raise Http404("no such phase")
        version = phase_version(task=task, phase_id=phase.pk)
    if version is None:
        return None
    version_refuse_withheld(version=version, user=user)
    return version
