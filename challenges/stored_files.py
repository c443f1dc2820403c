"""Stored files go with the rows that name them, once their deletion commits.

Django deletes rows, never the files they name: a deleted task (the admin's delete, with
every row that cascades from it) left its data, its submissions' uploads and predictions,
its references and its runs' files in storage for good. The app that owns a kind of row
connects :func:`forget_on_delete` for it, saying which files a row names; when a row is
about to be deleted (``pre_delete``, also for each row of a cascade, while the rows are
still there to be read) its files are noted, and once the deletion has committed (never
when it is rolled back) each is deleted unless a row still names it (a run's predictions
may be a finished run's, reused; the check is in the file's own column). A file that is
already gone or cannot be deleted is logged, never raised: the deletion stands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from django.core.files import File
from django.db import models, transaction
from django.db.models.signals import pre_delete

from common.files import delete_file_quietly, remove_empty_folders


@dataclass(frozen=True)
class StoredFile:
    """A file a row names: its storage and stored name, and where else it may be named
    (``model``'s ``column``, a file field; None: nowhere else)."""

    storage: Any
    name: str
    model: type[models.Model] | None = None
    column: str | None = None

    def still_named(self) -> bool:
        if self.model is None or self.column is None:
            return False
        rows = self.model._meta.concrete_model._base_manager  # every row, a proxy's too
        return rows.filter(**{self.column: self.name}).exists()


def field_files(*, row: models.Model, columns: Iterable[str]) -> list[StoredFile]:
    """The files ``row``'s file fields ``columns`` name (none where a field is empty)."""
    out = []
    for column in columns:
        stored = getattr(row, column)
        if stored and stored.name:
            out.append(StoredFile(stored.storage, stored.name, type(row), column))
    return out


def every_file_field(row: models.Model) -> list[StoredFile]:
    """The files all of ``row``'s file fields name."""
    fields = row._meta.get_fields()
    return field_files(row=row, columns=[f.name for f in fields if isinstance(f, models.FileField)])


def forget_on_delete(
    *, model: type[models.Model] | str,
    files: Callable[[Any], Iterable[StoredFile]] = every_file_field,
) -> None:
    """Delete the ``files`` of each ``model`` row deleted (``"app.Model"`` or the class;
    by default what its file fields name), once its deletion commits."""
    pre_delete.connect(
        partial(_noted, files), sender=model, weak=False, dispatch_uid=f"stored_files:{model}"
    )


def delete_on_commit(*, files: Iterable[StoredFile], using: str | None = None) -> None:
    """Delete ``files`` once the transaction in progress commits (at once outside one;
    never when it is rolled back), each unless a row still names it."""
    found = [stored for stored in files if stored.name]
    if found:
        transaction.on_commit(partial(_delete, found), using=using)


def _noted(files: Callable[[Any], Iterable[StoredFile]], sender: Any, instance: Any, **_) -> None:
    delete_on_commit(files=files(instance), using=instance._state.db)


def _delete(found: list[StoredFile]) -> None:
    for stored in found:
        if not stored.still_named():
            delete_file_quietly(stored.storage, stored.name)
            remove_empty_folders(stored.storage, stored.name)


class StagedFile(File):
    """A file made on this host (an import's standardized file, a run's checked predictions)
    that a local storage moves into place instead of copying it: Django's
    ``FileSystemStorage`` renames a file that has a ``temporary_file_path`` (the staging
    folders are under ``DATA_DIR``, as the media folders are, so the move is one rename; on
    another file system it copies); any other storage (S3) reads it like any file. The file
    is gone from ``path`` once stored."""

    def __init__(self, handle: Any, path: Path, *, name: str | None = None) -> None:
        super().__init__(handle, name=name or path.name)
        self._path = path

    def temporary_file_path(self) -> str:
        return str(self._path)
