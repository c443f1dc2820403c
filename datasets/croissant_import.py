"""``import_task --croissant``: a Croissant dataset imported as a task
(docs/participants/formats.md).

The dataset becomes a bundle folder (:func:`datasets.core.croissant_bundle.croissant_bundle`,
in a staging folder under ``DATA_DIR`` removed afterwards), which
:func:`datasets.services.task_import` then checks and imports like any bundle. Whatever
cannot be mapped, and whatever the bundle's checks refuse, raises
:class:`datasets.services.TaskImportError` listing every problem, and leaves nothing behind.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings

from datasets.core.croissant_bundle import CroissantUnmappable, croissant_bundle
from datasets.models import Task
from datasets.services import TaskImportError, task_import


def task_import_croissant(
    *,
    source: str,
    challenge_slug: str,
    track_slug: str,
    challenge_title: str | None = None,
    track_title: str | None = None,
    slug: str | None = None,
    kind: str | None = None,
    solution: Path | None = None,
    title: str | None = None,
    actor: Any = None,
    leak_probe: str = "",
) -> Task:
    """Import the Croissant dataset at ``source`` (a JSON-LD file or an http(s) URL) as a
    task; ``slug``, ``kind``, ``title`` and ``solution`` (the test rows' ``id,label``)
    override or complete what the dataset says. The title differs from every other task's
    in the track (a track's board names its columns by title): a dataset's name already
    there gets the slug appended, with a warning; a ``title`` already there is refused."""
    staging_root = Path(settings.DATA_DIR) / "staging"
    staging_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="croissant-", dir=staging_root))
    try:
        try:
            bundle = croissant_bundle(
                source,
                work,
                slug=slug,
                kind=kind,
                solution=solution,
                title=title,
                track_titles=dict(
                    Task.objects.filter(track__slug=track_slug).values_list("title", "slug")
                ),
            )
        except CroissantUnmappable as exc:
            raise TaskImportError(exc.problems) from exc
        task = task_import(
            source=bundle.folder,
            challenge_slug=challenge_slug,
            track_slug=track_slug,
            challenge_title=challenge_title,
            track_title=track_title,
            actor=actor,
            leak_probe=leak_probe,
        )
        warnings = (*bundle.warnings, *getattr(task, "import_warnings", ()))
        task.import_warnings = warnings  # type: ignore[attr-defined]
        return task
    finally:
        shutil.rmtree(work, ignore_errors=True)
