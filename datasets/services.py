"""Writes of the datasets app: importing an organizer's bundle as a Task
(docs/architecture.md §4, §7), and replacing a task's data by a new version of its
bundle.

``task_import`` is the one way a task enters the platform: the ``import_task`` command, the
admin console's upload and ``load_demo`` all call it. ``task_bundle_replace`` is the one way
its data changes afterwards (the console, the task owner's page and API, and the
``replace_task_bundle`` command call it).
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
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.utils import timezone

from challenges import hooks
from challenges.audit import ReasonRequired, audit_record, reason_check
from challenges.models import Challenge, Phase, Team, Track
from challenges.phases import is_multi_phase
from challenges.stored_files import StagedFile, StoredFile, delete_on_commit
from challenges.upload_budget import team_upload_lock, upload_quota_check
from common import keyfile
from common.files import delete_file_quietly, local_path, remove_empty_folders
from datasets.core import BundleInvalid, StandardizedTask, prepare_task
from datasets.core.standardize import SOLUTION_KEYS
from datasets.core.titles import TitleTaken, distinct_title
from datasets.models import Task, TaskVersion, default_public_board
from datasets.phase_versions import (
    next_version_number,
    phase_started,
    task_as_version,
    versions_in_use,
)
from datasets.versions import version_changes
from kinds.boards import initial_board_mode

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

    verb = "imported"

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"the task was not {self.verb} ({count} problem{'s' if count != 1 else ''}):"
        return "\n".join([head, *(f"- {p}" for p in self.problems)])


class TaskReplaceError(TaskImportError):
    """A new data version was refused; ``problems`` lists every reason, nothing changed."""

    verb = "replaced"


@contextlib.contextmanager
def _bundle_digest(source: Path) -> Iterator[Callable[[], str]]:
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
def _staged(source: Path | str, *, prefix: str, leak_probe: str = "") -> Iterator[StandardizedTask]:
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
            _bundle_digest(Path(source)) as digest,
            _staged(source, prefix="import-", leak_probe=leak_probe) as standardized,
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
            stored = _save_files(task, standardized, written)
            task.save()
            _version_create(
                task=task, actor=actor, note="the imported data", sha256=sha256, stored=stored
            )
            hooks.emit(hooks.TaskAdded(task_id=task.pk))
            task.title_warnings = title_warnings  # type: ignore[attr-defined]
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


def _save_files(
    task: Task, standardized: StandardizedTask, written: list[tuple[Storage, str]]
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


def _version_create(
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
            _bundle_digest(Path(source)) as digest,
            _staged(source, prefix="replace-") as standardized,
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
    stored = _save_files(staged, standardized, written)
    version = _version_create(
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
            stored = _save_files(current, standardized, written)
            current.save()
            version = _version_create(
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
            hooks.emit(hooks.TaskDataChanged(task_id=current.pk, phase_id=phase_id))
            pruned = task_versions_prune(task=current)
            if how.within is not None:
                how.within(version, tuple(standardized.warnings))
    except BaseException:
        _delete(written)
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
    delete_on_commit(files)
    numbers = [v.number for v in old]
    logger.info("task %s: the files of versions %s were pruned", task.slug, numbers)
    return numbers


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
        remove_empty_folders(storage, name)  # the task's folder a failed import left empty
