"""A task's data versions as the field reads them (docs/participants/formats.md): each version's
public files (with their sha256, for its Croissant description), and what changed from the
version before (rows added, removed and relabelled in train and test).

Both are computed from the stored files and kept on the version (``TaskVersion.file_digests``,
``TaskVersion.changes``): a version's files never change, so neither do they. The changes
are counted when a version is uploaded (``task_bundle_replace``; on first read for a version
uploaded before), the digests on the first Croissant request (streamed). The writes are
idempotent (the same values whoever computes them first).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq
from django.core.files.storage import Storage
from django.db.models import QuerySet

from datasets.core.version_diff import rows_changed
from datasets.models import Task, TaskVersion
from datasets.phase_versions import versions_shown
from datasets.selectors import PUBLIC_FILES

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
SOLUTION_FIELD = "solution"


@dataclass(frozen=True)
class StoredFile:
    """A version's stored file: where it is and what it is called there."""

    storage: Storage
    name: str


def task_versions(*, task: Task, user: Any) -> QuerySet[TaskVersion]:
    """The versions of ``task`` ``user`` may know of, newest first: a phase's own version
    staged ahead of its start is the organizers' alone (``datasets.phase_versions``)."""
    return versions_shown(task=task, user=user).select_related("task")


def task_version_get(*, task: Task, number: int) -> TaskVersion | None:
    return TaskVersion.objects.filter(task=task, number=number).select_related("task").first()


def version_file(*, version: TaskVersion, name: str) -> StoredFile | None:
    """The stored public file ``name`` (``train.csv``...) of ``version``, if it has one. Never
    the solution: only :data:`datasets.selectors.PUBLIC_FILES` are looked up."""
    field_name = PUBLIC_FILES.get(name)
    stored = (version.files or {}).get(field_name) if field_name else None
    if not stored:
        return None
    return StoredFile(Task._meta.get_field(field_name).storage, stored)


def version_file_names(*, version: TaskVersion) -> list[str]:
    """The public files ``version`` has, in download order."""
    return [name for name in PUBLIC_FILES if version_file(version=version, name=name)]


def version_file_digests(*, version: TaskVersion) -> dict[str, dict[str, Any]]:
    """``{name: {"sha256", "size"}}`` of ``version``'s public files, computed (streamed, once)
    for those not known yet."""
    known = dict(version.file_digests or {})
    missing = [n for n in version_file_names(version=version) if n not in known]
    for name in missing:
        stored = version_file(version=version, name=name)
        assert stored is not None
        try:
            known[name] = _digest(stored)
        except FileNotFoundError:
            logger.warning("task %s v%s: %s is missing", version.task_id, version.number, name)
    if missing:
        TaskVersion.objects.filter(pk=version.pk).update(file_digests=known)
        version.file_digests = known
    return known


def _digest(stored: StoredFile) -> dict[str, Any]:
    digest, size = hashlib.sha256(), 0
    with stored.storage.open(stored.name, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return {"sha256": digest.hexdigest(), "size": size}


def version_changes(*, version: TaskVersion) -> dict[str, dict[str, int]] | None:
    """Rows added, removed and relabelled since the version before, in ``train`` (its
    labels) and ``test`` (the solution's labels): ``{"train": {"added", "removed",
    "relabelled"}, "test": {...}}``. None for the first version, and when a file of either
    version cannot be read (logged; tried again next time)."""
    if version.changes is not None:
        return version.changes
    # The version before in the same line (a phase's own versions, or the ordinary ones; a
    # phase's first against the ordinary data): an ordinary version never counts against
    # a staged one (its rows would show) (datasets.phase_versions).
    earlier = TaskVersion.objects.filter(
        task_id=version.task_id, number__lt=version.number
    ).order_by("-number")
    before = earlier.filter(phase_id=version.phase_id).first()
    if before is None and version.phase_id is not None:
        before = earlier.filter(phase__isnull=True).first()
    if before is None or before.pruned_at or version.pruned_at:
        return None  # a pruned version's files are gone (datasets.replace.task_versions_prune)
    try:
        changes = {
            "train": rows_changed(
                _ids_labels(before, "train_parquet"), _ids_labels(version, "train_parquet")
            ),
            "test": rows_changed(
                _ids_labels(before, SOLUTION_FIELD), _ids_labels(version, SOLUTION_FIELD)
            ),
        }
    except (OSError, KeyError, ValueError) as exc:
        logger.warning(
            "task %s v%s: the changes cannot be counted: %s", version.task_id, version.number, exc
        )
        return None
    TaskVersion.objects.filter(pk=version.pk).update(changes=changes)
    version.changes = changes
    return changes


def _ids_labels(version: TaskVersion, field_name: str):
    name = (version.files or {}).get(field_name)
    if not name:
        raise KeyError(f"version {version.number} has no {field_name}")
    storage = Task._meta.get_field(field_name).storage
    with storage.open(name, "rb") as handle:
        return pq.read_table(handle, columns=["id", "label"])
