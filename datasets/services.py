"""Writes of the datasets app: importing an organizer's bundle as a Task (DESIGN §4, §7).

``task_import`` is the one way a task enters the platform: the ``import_task`` command, the
admin console's upload and ``load_demo`` all call it.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import Storage
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.utils import timezone

from challenge_platform.audit import audit_record
from challenge_platform.jobs import delete_file_quietly
from challenge_platform.models import Challenge, Track
from datasets.core import BundleInvalid, StandardizedTask, prepare_task
from datasets.models import Task

logger = logging.getLogger(__name__)

CHALLENGE_DAYS = 90
SLUG_MAX = 50  # SlugField's default max_length
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

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"the task was not imported ({count} problem{'s' if count != 1 else ''}):"
        return "\n".join([head, *(f"- {p}" for p in self.problems)])


def task_import(
    *,
    source: Path,
    challenge_slug: str,
    track_slug: str,
    challenge_title: str | None = None,
    track_title: str | None = None,
    actor: Any = None,
) -> Task:
    """Validate, standardize and store the bundle at ``source`` (a folder or a ``.zip``).

    The challenge and the track are created when they don't exist (the challenge opens now
    and closes in 90 days). Files go through Django storage; the solution to the private
    storage of ``Task.solution``. Any refusal raises :class:`TaskImportError` listing every
    problem, and leaves nothing behind: no row, no stored file, no staging folder.
    The returned task carries the bundle's non-fatal warnings as ``task.import_warnings``.
    """
    problems = _destination_problems(
        challenge_slug=challenge_slug,
        track_slug=track_slug,
        challenge_title=challenge_title,
        track_title=track_title,
    )
    staging_root = Path(settings.DATA_DIR) / "staging"
    staging_root.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="import-", dir=staging_root))
    try:
        try:
            standardized = prepare_task(
                Path(source), work_dir=work_dir, max_archive_bytes=settings.BUNDLE_MAX_BYTES
            )
        except BundleInvalid as exc:
            raise TaskImportError([*problems, *exc.problems]) from exc
        slug = standardized.meta["slug"]
        if Task.objects.filter(slug=slug).exists():
            problems.append(_slug_taken(slug))
        if problems:
            raise TaskImportError(problems)
        task = _store(
            standardized,
            challenge_slug=challenge_slug,
            track_slug=track_slug,
            challenge_title=challenge_title,
            track_title=track_title,
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    audit_record(
        actor=actor,
        action="task.import",
        obj=task,
        after={"slug": task.slug, "kind": task.kind, "track": track_slug},
    )
    task.import_warnings = tuple(standardized.warnings)  # type: ignore[attr-defined]
    for warning in standardized.warnings:
        logger.warning("task %s: %s", task.slug, warning)
    return task


def _slug_taken(slug: str) -> str:
    return (
        f"a task with slug '{slug}' already exists; change the slug in task.yaml, or delete"
        " the existing task first"
    )


def _destination_problems(
    *,
    challenge_slug: str,
    track_slug: str,
    challenge_title: str | None,
    track_title: str | None,
) -> list[str]:
    """Refusals that don't depend on the bundle: slugs, titles, a track in another challenge."""
    problems: list[str] = []
    for label, slug in (("challenge", challenge_slug), ("track", track_slug)):
        if not _slug_ok(slug):
            problems.append(
                f"the {label} slug {slug!r} is invalid: use letters, digits, hyphens and"
                f" underscores, at most {SLUG_MAX} characters"
            )
    for label, title in (("challenge", challenge_title), ("track", track_title)):
        if title is not None and len(title) > 200:
            problems.append(f"the {label} title is longer than 200 characters")
    if problems:
        return problems
    track = Track.objects.select_related("challenge").filter(slug=track_slug).first()
    if track is not None and track.challenge.slug != challenge_slug:
        problems.append(
            f"the track '{track_slug}' belongs to the challenge '{track.challenge.slug}', not"
            f" to '{challenge_slug}'; choose another track slug or that challenge"
        )
    return problems


def _slug_ok(slug: object) -> bool:
    if not isinstance(slug, str) or not slug or len(slug) > SLUG_MAX:
        return False
    try:
        validate_slug(slug)
    except ValidationError:
        return False
    return True


def _title_from_slug(slug: str) -> str:
    return slug.replace("-", " ").replace("_", " ").strip().capitalize() or slug


def _store(
    standardized: StandardizedTask,
    *,
    challenge_slug: str,
    track_slug: str,
    challenge_title: str | None,
    track_title: str | None,
) -> Task:
    """Create the rows and store the files in one transaction; on failure remove both."""
    meta = standardized.meta
    written: list[tuple[Storage, str]] = []
    try:
        with transaction.atomic():
            challenge = _challenge_get_or_create(slug=challenge_slug, title=challenge_title)
            track = _track_get_or_create(challenge=challenge, slug=track_slug, title=track_title)
            task = Task(
                track=track,
                slug=meta["slug"],
                title=meta["title"],
                description=meta.get("description") or "",
                kind=meta["kind"],
                columns=list(meta["columns"]),
                classes=list(meta["classes"]),
                primary_metric=meta["primary_metric"],
                public_fraction=meta["public_fraction"],
                split_seed=meta["split_seed"],
                train_rows=meta["train_rows"],
                test_rows=meta["test_rows"],
                card=dict(standardized.card),
                opis=dict(meta["opis"]),
                meta=dict(meta),
                order=track.tasks.count(),
            )
            for relative, field_name in TASK_FILES.items():
                path = standardized.files.get(relative)
                if path is None:
                    continue
                field_file = getattr(task, field_name)
                with path.open("rb") as handle:
                    field_file.save(Path(relative).name, File(handle), save=False)
                written.append((field_file.storage, field_file.name))
            task.save()
    except IntegrityError as exc:
        _delete(written)
        # Another import of the same slug won the race since the check above.
        if Task.objects.filter(slug=meta["slug"]).exists():
            raise TaskImportError([_slug_taken(meta["slug"])]) from exc
        raise
    except BaseException:
        _delete(written)
        raise
    return task


def _challenge_get_or_create(*, slug: str, title: str | None) -> Challenge:
    challenge = Challenge.objects.filter(slug=slug).first()
    if challenge is not None:
        return challenge
    start = timezone.now()
    return Challenge.objects.create(
        slug=slug,
        title=title or _title_from_slug(slug),
        start=start,
        end=start + timedelta(days=CHALLENGE_DAYS),
    )


def _track_get_or_create(*, challenge: Challenge, slug: str, title: str | None) -> Track:
    track = Track.objects.filter(slug=slug).first()
    if track is not None:
        return track
    return Track.objects.create(
        challenge=challenge,
        slug=slug,
        title=title or _title_from_slug(slug),
        order=challenge.tracks.count(),
    )


def _delete(written: list[tuple[Storage, str]]) -> None:
    for storage, name in written:  # keep cleaning the others; the error that matters is re-raised
        delete_file_quietly(storage, name)
    for storage, name in written:
        _remove_empty_folder(storage, name)


def _remove_empty_folder(storage: Storage, name: str) -> None:
    """Drop the task's folder a failed import left empty (local storage only)."""
    try:
        folder = Path(storage.path(name)).parent
    except NotImplementedError:  # object stores have no folders
        return
    with contextlib.suppress(OSError):  # not empty, or already gone
        folder.rmdir()
