"""Writes of the datasets app: importing an organizer's bundle as a Task
(docs/architecture.md §4, §7).

``task_import`` is the one way a task enters the platform: the ``import_task`` command, the
admin console's upload and ``load_demo`` all call it. A task's data changes afterwards
through ``datasets.replace.task_bundle_replace``; what both store is in
``datasets.bundle_store``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.storage import Storage
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.utils import timezone

from challenges import hooks
from challenges.audit import audit_record
from challenges.models import Challenge, Track
from datasets.bundle_store import (
    TaskImportError,
    bundle_digest,
    bundle_staged,
    files_store,
    version_create,
    written_delete,
)
from datasets.core import BundleInvalid, StandardizedTask
from datasets.core.titles import TitleTaken, distinct_title
from datasets.models import Task, default_public_board
from kinds.boards import initial_board_mode

logger = logging.getLogger(__name__)

CHALLENGE_DAYS = 90
SLUG_MAX = 50  # SlugField's default max_length


def task_import(
    *,
    source: Path,
    challenge_slug: str,
    track_slug: str,
    challenge_title: str | None = None,
    track_title: str | None = None,
    actor: Any = None,
    leak_probe: str = "",
) -> Task:
    """Validate, standardize and store the bundle at ``source`` (a folder or a ``.zip``).

    The challenge and the track are created when they don't exist (the challenge opens now
    and closes in 90 days). Files go through Django storage; the solution to the private
    storage of ``Task.solution``. Any refusal raises :class:`TaskImportError` listing every
    problem, and leaves nothing behind: no row, no stored file, no staging folder.
    The returned task carries the bundle's non-fatal warnings as ``task.import_warnings``.
    ``leak_probe`` (``warn``, ``refuse``, ``off``) overrides task.yaml's and the setting's
    choice of what a leak of the labels through the ids does (docs/organizers/stress.md).
    """
    problems = _destination_problems(
        challenge_slug=challenge_slug,
        track_slug=track_slug,
        challenge_title=challenge_title,
        track_title=track_title,
    )
    try:
        with (
            bundle_digest(source=Path(source)) as digest,
            bundle_staged(source=source, prefix="import-", leak_probe=leak_probe) as standardized,
        ):
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
                actor=actor,
                sha256=digest(),
            )
    except BundleInvalid as exc:
        raise TaskImportError([*problems, *exc.problems]) from exc
    audit_record(
        actor=actor,
        action="task.import",
        obj=task,
        after={"slug": task.slug, "kind": task.kind, "track": track_slug},
    )
    warnings = (*standardized.warnings, *task.title_warnings)  # type: ignore[attr-defined]
    task.import_warnings = warnings  # type: ignore[attr-defined]
    for warning in warnings:
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
    actor: Any = None,
    sha256: str = "",
) -> Task:
    """Create the rows and store the files in one transaction; on failure remove both."""
    meta = standardized.meta
    written: list[tuple[Storage, str]] = []
    try:
        with transaction.atomic():
            challenge = _challenge_get_or_create(slug=challenge_slug, title=challenge_title)
            track = _track_get_or_create(challenge=challenge, slug=track_slug, title=track_title)
            title, title_warnings = _title_in_track(track=track, meta=meta)
            task = Task(
                track=track,
                slug=meta["slug"],
                title=title,
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
                public_board=initial_board_mode(
                    kind=meta["kind"],
                    metric=meta["primary_metric"],
                    classes=list(meta["classes"]),
                    default=default_public_board(),
                ),
            )
            stored = files_store(task=task, standardized=standardized, written=written)
            task.save()
            version_create(
                task=task, actor=actor, note="the imported data", sha256=sha256, stored=stored
            )
            hooks.emit(event=hooks.TaskAdded(task_id=task.pk))
            task.title_warnings = title_warnings  # type: ignore[attr-defined]
    except IntegrityError as exc:
        written_delete(written=written)
        # Another import of the same slug won the race since the check above.
        if Task.objects.filter(slug=meta["slug"]).exists():
            raise TaskImportError([_slug_taken(meta["slug"])]) from exc
        raise
    except BaseException:
        written_delete(written=written)
        raise
    return task


def _title_in_track(*, track: Track, meta: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """task.yaml's title, made distinct from the track's other titles (a track's board names
    its columns by title): a taken one gets ``" (<slug>)"``, with a warning."""
    try:
        return distinct_title(
            meta["title"],
            slug=meta["slug"],
            track_titles=dict(track.tasks.values_list("title", "slug")),
            source="task.yaml's title",
            hint="task.yaml's title chooses another",
        )
    except TitleTaken as exc:
        raise TaskImportError([str(exc)]) from exc


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
