"""The ``/task`` folder of a run: exactly what a participant may download
(docs/architecture.md §9).

``train.parquet``, ``test.parquet``, ``task.json`` and ``images/`` (unpacked from the
images archive when the task has one); never the solution or the split. ``task.json`` holds
the task's public fields and what its kind tells a participant
(``datasets.selectors.task_public_meta``): the prediction file's ``output_columns`` and
``optional_output_columns``, and the kind's own options, such as regression's ``tolerance``.
One home for algorithm runs and for the AutoGluon baseline, which is an algorithm too.

``test.parquet`` is in row groups of at most ``ALGORITHM_TEST_ROW_GROUP_ROWS`` rows
(default 262,144), so an algorithm can read a catalog-size test set one row group at a time
(``pyarrow.parquet.ParquetFile.iter_batches`` or ``read_row_group``) instead of all at once.

**O(1) in the task's size.** The stored files are the platform's own and never change (a
new data version is new files), so the folder holds hard links to them (one ``link`` call
each, whatever their size; the sandbox shows ``/task`` read-only): a 10M-row task costs a
run what a 10-row one does. A file is copied only where it cannot be linked (a storage
without local paths, another filesystem), and ``test.parquet`` is rewritten only when its
row groups are larger than the setting (a task imported before its rows were written in
such groups, or a setting lowered since).
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow.parquet as pq
from django.conf import settings
from django.db.models.fields.files import FieldFile

from common.files import local_path
from datasets.models import Task
from datasets.phase_versions import task_for_phase
from datasets.selectors import task_public_meta

COPY_CHUNK = 1024 * 1024
PUBLIC_TASK_FIELDS = (
    "slug",
    "title",
    "description",
    "kind",
    "columns",
    "classes",
    "primary_metric",
    "train_rows",
    "test_rows",
)


def run_task(*, run: Any) -> Task:
    """The task as ``run`` sees it: the data version of the phase it was queued in
    (``datasets.phase_versions``, the one rule of which data a phase reads): its ``/task``,
    its manifest and the solution its predictions are scored on."""
    return task_for_phase(task=run.task, phase_id=run.phase_id)


def task_folder_write(
    *, task: Task, folder: Path, on_chunk: Callable[[], None] | None = None
) -> Path:
    """Write ``task``'s ``/task`` folder into ``folder`` (created); ``on_chunk`` is called
    after every copied megabyte or written row group (a cancel check may raise there)."""
    folder.mkdir(parents=True)
    meta = {name: getattr(task, name) for name in PUBLIC_TASK_FIELDS}
    meta.update({k: v for k, v in (task.meta or {}).items() if k in PUBLIC_TASK_FIELDS})
    meta.update(task_public_meta(task=task))
    (folder / "task.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    _place(task.train_parquet, folder / "train.parquet", on_chunk=on_chunk)
    if _row_groups_fit(task.test_parquet):
        _place(task.test_parquet, folder / "test.parquet", on_chunk=on_chunk)
    else:
        _write_row_grouped(task, folder / "test.parquet", on_chunk=on_chunk)
    if task.images_zip:
        _unpack_images(task, folder / "images", on_chunk=on_chunk)
    return folder


def _local_path(field: FieldFile) -> Path | None:
    path = local_path(field.storage, field.name)  # None: an object store, no file to link
    return None if path is None else Path(path)


def _place(field: FieldFile, target: Path, *, on_chunk: Callable[[], None] | None) -> None:
    """``target`` holds the stored file: a hard link to it, else a copy."""
    stored = _local_path(field)
    if stored is not None:
        try:
            os.link(stored, target)
            return
        except OSError:  # another filesystem, or links not allowed: copy it
            pass
    with field.storage.open(field.name, "rb") as source, open(target, "wb") as out:
        while chunk := source.read(COPY_CHUNK):
            out.write(chunk)
            if on_chunk is not None:
                on_chunk()


def _row_groups_fit(field: FieldFile) -> bool:
    """Whether every row group of the stored test file is within the setting (its footer
    only is read)."""
    limit = test_row_group_rows()
    with field.storage.open(field.name, "rb") as handle:
        metadata = pq.ParquetFile(handle).metadata
        return all(
            metadata.row_group(i).num_rows <= limit for i in range(metadata.num_row_groups)
        )


def test_row_group_rows() -> int:
    return max(1, int(settings.ALGORITHM_TEST_ROW_GROUP_ROWS))


test_row_group_rows.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _write_row_grouped(task: Task, target: Path, *, on_chunk: Callable[[], None] | None) -> None:
    """Rewrite the stored test file with row groups of at most :func:`test_row_group_rows`
    rows; memory stays at about one row group whatever the file's size."""
    rows = test_row_group_rows()
    field = task.test_parquet
    with field.storage.open(field.name, "rb") as source:
        reader = pq.ParquetFile(source)
        with pq.ParquetWriter(target, reader.schema_arrow) as writer:
            for batch in reader.iter_batches(batch_size=rows):
                writer.write_batch(batch, row_group_size=rows)
                if on_chunk is not None:
                    on_chunk()


def _unpack_images(task: Task, dest: Path, *, on_chunk: Callable[[], None] | None = None) -> None:
    """The platform wrote images.zip itself; its member names are still checked."""
    field = task.images_zip
    with field.storage.open(field.name, "rb") as handle, zipfile.ZipFile(handle) as archive:
        for info in archive.infolist():
            parts = PurePosixPath(info.filename).parts
            if info.is_dir() or info.filename.startswith("/") or ".." in parts:
                continue
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as member, open(target, "wb") as out:
                shutil.copyfileobj(member, out, COPY_CHUNK)
            if on_chunk is not None:
                on_chunk()
