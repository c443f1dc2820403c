"""Writes of a task's data after its import: a new version of its bundle
(``task_bundle_replace``: the one way the data changes; the console, the task owner's page
and API, and the ``replace_task_bundle`` command call it), a phase's own data staged ahead of
it, and the pruning of old versions' files (``task_versions_prune``), with the sentences every
entry point says about them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import Storage
from django.db import transaction
from django.utils import timezone

from challenges import hooks
from challenges.audit import ReasonRequired, audit_record, reason_check
from challenges.models import Phase, Team
from challenges.phases import is_multi_phase
from challenges.stored_files import StoredFile, delete_on_commit
from challenges.upload_budget import team_upload_lock, upload_quota_check
from common import keyfile
from datasets.bundle_store import (
    TASK_FILES,
    TaskReplaceError,
    bundle_digest,
    bundle_staged,
    files_store,
    standardized_bytes,
    version_create,
    written_delete,
)
from datasets.core import BundleInvalid, StandardizedTask
from datasets.models import Task, TaskVersion
from datasets.phase_versions import (
    next_version_number,
    phase_started,
    task_as_version,
    versions_in_use,
)
from datasets.versions import version_changes

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskReplaced:
    """What ``task_bundle_replace`` did: the task (refreshed), its new version, and the old
    versions whose files it pruned."""

    task: Task
    version: TaskVersion
    previous: int
    warnings: tuple[str, ...]
    pruned: tuple[int, ...] = ()

    def summary(self) -> str:
        """What the organizer or the task owner is told."""
        text = version_summary(task=self.task, version=self.version, previous=self.previous)
        return f"{text} {pruned_sentence(numbers=self.pruned)}".strip()


def version_summary(*, task: Task, version: TaskVersion, previous: int) -> str:
    """What a new data version did, as every entry point says it."""
    if version.phase_id is not None and version.released_at is None:
        phase = version.phase
        return (
            f"{task.title}: data version {version.number} ({version.train_rows:,} train and"
            f" {version.test_rows:,} test rows) is staged for the phase '{phase.slug}': kept"
            " from participants and re-scoring nothing until the phase starts"
            f" ({phase.start.isoformat()}), then that phase's entries alone are scored on it."
        )
    return (
        f"{task.title}: data version {version.number} replaces version"
        f" {previous} ({version.train_rows:,} train and {version.test_rows:,} test rows)."
        " Every submission of the task is re-scored on it, the trivial baseline is rebuilt"
        f" and uploaded references are read again. {baseline_on_new_version()}"
    )


def pruned_sentence(*, numbers: Sequence[int]) -> str:
    """What pruning did, in one sentence ("" when nothing was pruned)."""
    if not numbers:
        return ""
    kept = settings.TASK_DATA_VERSIONS_KEPT
    names = ", ".join(str(n) for n in numbers)
    return (
        f"The files of version{'s' if len(numbers) > 1 else ''} {names} were deleted: a task"
        f" keeps the files of its {kept} newest versions."
    )


def baseline_on_new_version() -> str:
    """What becomes of the AutoGluon baseline when a task gets a new data version, as every
    entry point says it: queued again by itself (``BENCHMARK_ON_ARRIVAL``), or not."""
    if settings.BENCHMARK_ON_ARRIVAL:
        return "Its AutoGluon baseline is queued again on the new data by itself."
    return (
        "The AutoGluon baseline is not re-run automatically (it takes long): queue it again"
        " on the task's manage page."
    )


def task_bundle_replace(
    *,
    task: Task,
    source: Path,
    actor: Any,
    reason: str,
    team: Team | None = None,
    counted_bytes: int = 0,
    within: Callable[[TaskVersion, tuple[str, ...]], None] | None = None,
    phase: Phase | None = None,
) -> TaskReplaced:
    """Replace ``task``'s data by the bundle at ``source`` (a folder or a ``.zip``); with
    ``phase``, stage it as that phase's own data instead (:func:`_stage`).

    The bundle is checked by the same ``prepare_task`` as an import and must keep the task's
    slug and kind. Its standardized files are stored under ``tasks/<slug>/v<N>/``; the task's
    files and bundle-derived fields, its ``data_version``, the new :class:`TaskVersion` and one
    ``task.replace`` audit event are written in one transaction, in which the layers above are
    told (``hooks.TaskDataChanged``: scoring re-queues every submission and rebuilds the
    references; algorithms queues the AutoGluon baseline again when ``BENCHMARK_ON_ARRIVAL``).
    The same transaction prunes the versions older than the ``TASK_DATA_VERSIONS_KEPT``
    newest (:func:`task_versions_prune`) and, with ``within``, calls ``within(version,
    warnings)`` (the check job of an upload ends there: the version exists exactly when its
    job says so).

    ``team`` is the task owner's team the version counts against: its storage quota is
    checked under its lock on what the version stores, ``counted_bytes`` of the team's use
    being deleted with it (the uploaded bundle), and the version records it; over the
    quota raises :class:`~challenges.upload_budget.UploadBudgetExceeded` (nothing
    stored). A person must give ``reason`` (every team is re-scored). Any other refusal
    raises :class:`TaskReplaceError` listing every problem and changes nothing.
    """
    problems: list[str] = []
    try:
        reason = reason_check(action="task.replace", reason=reason, actor=actor)
    except ReasonRequired:
        problems.append(
            "a reason is required: replacing the data re-scores every team's submissions"
        )
    try:
        with (
            bundle_digest(source=Path(source)) as digest,
            bundle_staged(source=source, prefix="replace-") as standardized,
        ):
            meta = standardized.meta
            if meta["slug"] != task.slug:
                problems.append(
                    f"the bundle is for the task '{meta['slug']}', not '{task.slug}': keep the slug"
                    " in task.yaml (a different task is imported, not replaced)"
                )
            if meta["kind"] != task.kind:
                problems.append(
                    f"the bundle is a {meta['kind']} task, but '{task.slug}' is {task.kind}: a new"
                    " version must keep the kind (import a new task instead)"
                )
            if problems:
                raise TaskReplaceError(problems)
            replaced = _replace(
                task,
                standardized,
                _Replacing(actor, reason, digest(), team, counted_bytes, within, phase),
            )
    except BundleInvalid as exc:
        raise TaskReplaceError([*problems, *exc.problems]) from exc
    for warning in standardized.warnings:
        logger.warning("task %s v%s: %s", task.slug, replaced.version.number, warning)
    version_changes(version=replaced.version)  # counted now, read by pages and the API
    return replaced


@dataclass(frozen=True)
class _Replacing:
    """Who replaces the data and how the new version is recorded (``task_bundle_replace``)."""

    actor: Any
    reason: str
    sha256: str
    team: Team | None
    counted_bytes: int
    within: Callable[[TaskVersion, tuple[str, ...]], None] | None
    phase: Phase | None = None


def _bundle_values(meta: dict[str, Any], standardized: StandardizedTask) -> dict[str, Any]:
    return {
        "columns": list(meta["columns"]),
        "classes": list(meta["classes"]),
        "primary_metric": meta["primary_metric"],
        "public_fraction": meta["public_fraction"],
        "split_seed": meta["split_seed"],
        "train_rows": meta["train_rows"],
        "test_rows": meta["test_rows"],
        "card": dict(standardized.card),
        "opis": dict(meta["opis"]),
        "meta": dict(meta),
    }


def _stage(
    current: Task,
    standardized: StandardizedTask,
    how: _Replacing,
    written: list[tuple[Storage, str]],
) -> TaskVersion:
    """Inside ``_replace``'s transaction: store the bundle as ``how.phase``'s own version
    (datasets.phase_versions), the task's fields untouched, nothing re-scored or queued
    until the phase starts; audited ``task.stage``."""
    phase = how.phase
    assert phase is not None
    if phase.challenge_id != current.track.challenge_id:
        raise TaskReplaceError([f"the phase '{phase.slug}' is not of this task's challenge"])
    if not is_multi_phase(challenge=phase.challenge):
        raise TaskReplaceError(["a phase's own data needs a challenge of several phases"])
    if phase_started(phase=phase):
        raise TaskReplaceError(
            [f"the phase '{phase.slug}' has started: stage a phase's data before its start"]
        )
    staged = task_as_version(task=current, version=TaskVersion(number=current.data_version))
    staged.data_version = next_version_number(task=current)
    for name, value in _bundle_values(standardized.meta, standardized).items():
        setattr(staged, name, value)
    stored = files_store(task=staged, standardized=standardized, written=written)
    version = version_create(
        task=staged,
        actor=how.actor,
        note=how.reason,
        sha256=how.sha256,
        stored=stored,
        team=how.team,
    )
    TaskVersion.objects.filter(pk=version.pk).update(phase=phase)
    version.phase = phase
    audit_record(
        actor=how.actor,
        action="task.stage",
        obj=current,
        before={"data_version": current.data_version},
        after={"staged": version.number, "phase": phase.slug, "test_rows": version.test_rows},
        reason=how.reason,
    )
    return version


def _replace(task: Task, standardized: StandardizedTask, how: _Replacing) -> TaskReplaced:
    meta = standardized.meta
    actor, reason, sha256 = how.actor, how.reason, how.sha256
    written: list[tuple[Storage, str]] = []
    try:
        with transaction.atomic():
            current = Task.objects.select_for_update().get(pk=task.pk)
            if how.team is not None:  # after the task's lock, as a reference upload takes them
                team_upload_lock(team=how.team)
                upload_quota_check(
                    team=how.team,
                    adding_bytes=standardized_bytes(standardized=standardized),
                    freeing_bytes=how.counted_bytes,
                )
            previous = current.data_version
            if how.phase is not None:
                version = _stage(current, standardized, how, written)
                if how.within is not None:
                    how.within(version, tuple(standardized.warnings))
                return TaskReplaced(
                    task=task,
                    version=version,
                    previous=previous,
                    warnings=tuple(standardized.warnings),
                    pruned=(),
                )
            own = TaskVersion.objects.filter(task=current, number=previous).first()
            before = {
                "data_version": previous,
                "train_rows": current.train_rows,
                "test_rows": current.test_rows,
            }
            current.data_version = next_version_number(task=current)
            for name, value in _bundle_values(meta, standardized).items():
                setattr(current, name, value)
            stored = files_store(task=current, standardized=standardized, written=written)
            current.save()
            version = version_create(
                task=current, actor=actor, note=reason, sha256=sha256, stored=stored, team=how.team
            )
            audit_record(
                actor=actor,
                action="task.replace",
                obj=current,
                before=before,
                after={
                    "data_version": current.data_version,
                    "train_rows": current.train_rows,
                    "test_rows": current.test_rows,
                    "sha256": sha256,
                },
                reason=reason,
            )
            # A correction of a phase's own data stays that phase's (datasets.phase_versions)
            phase_id = own.phase_id if own is not None else None
            if phase_id is not None:
                version.phase_id, version.released_at = phase_id, timezone.now()
                version.save(update_fields=["phase", "released_at"])
            hooks.emit(event=hooks.TaskDataChanged(task_id=current.pk, phase_id=phase_id))
            pruned = task_versions_prune(task=current)
            if how.within is not None:
                how.within(version, tuple(standardized.warnings))
    except BaseException:
        written_delete(written=written)
        raise
    task.refresh_from_db()
    return TaskReplaced(
        task=task,
        version=version,
        previous=previous,
        warnings=tuple(standardized.warnings),
        pruned=tuple(pruned),
    )


def task_versions_prune(*, task: Task) -> list[int]:
    """Inside the transaction that gave ``task`` its current version, holding its row lock:
    prune every version older than the ``TASK_DATA_VERSIONS_KEPT`` newest (the current one
    is always kept; ``0`` keeps them all). A pruned version's files are deleted once the
    transaction commits, each unless a version row still names it
    (:mod:`challenges.stored_files`); its row stays as the record (number, reason,
    who, rows, sha256, what changed) with no files (``pruned_at``). Nothing else reads an
    old version's files: scoring, runs, stress and the gate read the current data, and a
    version's changes are counted when it is uploaded. Returns the numbers pruned."""
    kept = settings.TASK_DATA_VERSIONS_KEPT
    if kept <= 0:
        return []
    old = list(
        TaskVersion.objects.select_for_update()
        .filter(task=task, number__lte=task.data_version - kept, pruned_at__isnull=True)
        .exclude(number__in=versions_in_use(task=task))  # a phase still reads it
        .order_by("number")
    )
    if not old:
        return []
    files: list[StoredFile] = []
    for version in old:
        for field_name, name in (version.files or {}).items():
            if field_name not in TASK_FILES.values() or not name:
                continue
            storage = Task._meta.get_field(field_name).storage
            files.append(StoredFile(storage, name, TaskVersion, f"files__{field_name}"))
            if field_name == "solution":  # its key table goes with it (common.keyfile)
                files.append(StoredFile(storage, keyfile.keys_name(name)))
    TaskVersion.objects.filter(pk__in=[v.pk for v in old]).update(
        files={}, stored_bytes=0, pruned_at=timezone.now()
    )
    delete_on_commit(files=files)
    numbers = [v.number for v in old]
    logger.info("task %s: the files of versions %s were pruned", task.slug, numbers)
    return numbers
