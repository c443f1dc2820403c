"""Storing a validated bundle, shared by a task's import (``datasets.services``) and its
new data versions (``datasets.replace``): the bundle staged and standardized
(``bundle_staged``) while its sha256 is read beside it (``bundle_digest``), its
standardized files saved on a task's fields (``files_store``), the version row that records
them (``version_create``), and the files removed again when the transaction fails
(``written_delete``). The refusals of both writes are :class:`TaskImportError` and
:class:`TaskReplaceError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import Storage

from challenges.models import Team
from challenges.stored_files import StagedFile
from common import keyfile
from common.files import delete_file_quietly, local_path, remove_empty_folders
from datasets.core import StandardizedTask, prepare_task
from datasets.core.standardize import SOLUTION_KEYS
from datasets.models import Task, TaskVersion

logger = logging.getLogger(__name__)

# Standardized file (relative to the task folder) -> the Task field that stores it.
TASK_FILES = {
    "train.csv": "train_csv",
    "train.parquet": "train_parquet",
    "test.csv": "test_csv",
    "test.parquet": "test_parquet",
    "images.zip": "images_zip",
    "private/solution.parquet": "solution",
}


class TaskImportError(Exception):
    """A bundle or its destination was refused; ``problems`` lists every reason found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__(self.problems)

    verb = "imported"

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"the task was not {self.verb} ({count} problem{'s' if count != 1 else ''}):"
        return "\n".join([head, *(f"- {p}" for p in self.problems)])


class TaskReplaceError(TaskImportError):
    """A new data version was refused; ``problems`` lists every reason, nothing changed."""

    verb = "replaced"


@contextlib.contextmanager
def bundle_digest(*, source: Path) -> Iterator[Callable[[], str]]:
    """The bundle's sha256 (:func:`bundle_sha256`), read on a thread of its own while the
    block validates and standardizes the bundle (hashing releases the interpreter lock: the
    two use two cores); the block calls the yielded function for the result. Leaving the
    block early (a refused bundle) stops the hashing at its next megabyte."""
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bundle-sha256")
    digest = pool.submit(bundle_sha256, source=source, stop=stop)
    try:
        yield digest.result
    finally:
        stop.set()
        pool.shutdown(wait=True)


@contextlib.contextmanager
def bundle_staged(
    *, source: Path | str, prefix: str, leak_probe: str = ""
) -> Iterator[StandardizedTask]:
    """The bundle at ``source`` validated and standardized in a fresh staging folder under
    ``DATA_DIR``, removed when the block ends, whatever happens. Raises
    :class:`BundleInvalid` (on entering the block) when the bundle is invalid."""
    staging_root = Path(settings.DATA_DIR) / "staging"
    staging_root.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix=prefix, dir=staging_root))
    try:
        yield prepare_task(
            Path(source),
            work_dir=work_dir,
            max_archive_bytes=settings.BUNDLE_MAX_BYTES,
            # docs/organizers/stress.md: the flag, else task.yaml's, else the setting
            leak_probe=leak_probe,
            leak_probe_default=settings.TASK_LEAK_PROBE,
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def files_store(
    *, task: Task, standardized: StandardizedTask, written: list[tuple[Storage, str]]
) -> int:
    """Store the standardized files on ``task``'s fields (under its ``data_version``'s
    folder, ``task_file_path``), moved there from the staging folder when the storage is
    local (:class:`StagedFile`); a file the bundle lacks (images) empties its field. Returns
    the bytes stored."""
    stored = 0
    for relative, field_name in TASK_FILES.items():
        path = standardized.files.get(relative)
        field_file = getattr(task, field_name)
        if path is None:
            setattr(task, field_name, "")
            continue
        size = path.stat().st_size  # before a local storage moves the file away
        with path.open("rb") as handle:
            field_file.save(Path(relative).name, StagedFile(handle, path), save=False)
        written.append((field_file.storage, field_file.name))
        stored += size
    keys = standardized.files.get(SOLUTION_KEYS)
    if keys is not None and task.solution:
        stored += _solution_keys_save(task, keys, written)
    return stored


def standardized_bytes(*, standardized: StandardizedTask) -> int:
    """The most a version of ``standardized`` stores (its files and the solution's key
    table): what its storage is counted at before anything is stored."""
    names = [*TASK_FILES, SOLUTION_KEYS]
    return sum(standardized.files[n].stat().st_size for n in names if n in standardized.files)


def _solution_keys_save(task: Task, path: Path, written: list[tuple[Storage, str]]) -> int:
    """Store the solution's key table (``common.keyfile``) beside the solution, under the
    name scoring looks for (``keyfile.keys_name`` of the solution's stored name), on a
    local storage only: from an object store (S3) scoring would download about 26 bytes
    per id (78 MB at 3M ids) to save 0.2-0.4 s of work, so it makes the table as before
    there (docs/decisions/0026-a-deleted-task-takes-its-files.md). Whatever is at that name is an
    orphan (the solution's name was free): replaced."""
    storage = task.solution.storage
    name = keyfile.keys_name(task.solution.name)
    if local_path(storage, name) is None:
        return 0
    if storage.exists(name):
        storage.delete(name)
    size = path.stat().st_size
    with path.open("rb") as handle:
        saved = storage.save(name, StagedFile(handle, path))
    written.append((storage, saved))
    if saved != name:  # taken again meanwhile: scoring would never read it under another
        delete_file_quietly(storage, saved)
        return 0
    return size


def version_create(
    *, task: Task, actor: Any, note: str, sha256: str, stored: int, team: Team | None = None
) -> TaskVersion:
    person = actor if getattr(actor, "is_authenticated", False) and actor.pk else None
    return TaskVersion.objects.create(
        task=task,
        number=task.data_version,
        created_by=person,
        note=note,
        files={f: getattr(task, f).name for f in TASK_FILES.values() if getattr(task, f)},
        train_rows=task.train_rows,
        test_rows=task.test_rows,
        sha256=sha256,
        meta=dict(task.meta or {}),  # kept for the version's Croissant (datasets.versions)
        card=dict(task.card or {}),
        team=team,
        stored_bytes=stored,
    )


def bundle_sha256(*, source: Path, stop: threading.Event | None = None) -> str:
    """SHA-256 of an uploaded ``.zip``; of a folder: over its files' relative paths and
    contents in sorted order. Empty when ``source`` is neither (or ``stop`` was set)."""
    digest = hashlib.sha256()

    def add(path: Path) -> bool:
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                if stop is not None and stop.is_set():
                    return False
                digest.update(chunk)
        return True

    if source.is_file():
        return digest.hexdigest() if add(source) else ""
    if not source.is_dir():
        return ""
    for path in sorted(p for p in source.rglob("*") if p.is_file() and not p.is_symlink()):
        digest.update(path.relative_to(source).as_posix().encode() + b"\0")
        if not add(path):
            return ""
    return digest.hexdigest()


def written_delete(*, written: list[tuple[Storage, str]]) -> None:
    for storage, name in written:  # keep cleaning the others; the error that matters is re-raised
        delete_file_quietly(storage, name)
    for storage, name in written:
        remove_empty_folders(storage, name)  # the task's folder a failed import left empty
