"""``task_import``: valid bundles become tasks with their files in storage; refusals leave
nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from django.core.files.storage import storages
from django.utils import timezone

from challenges.models import Challenge, Track
from datasets.core import read_standard_parquet
from datasets.models import Task
from datasets.services import TaskImportError, task_import
from testkit.bundles import (
    write_classification_bundle,
    write_matching_bundle,
    zip_bundle,
)
from testkit.demo_data import stored_files
from tests.datasets_tests.factories import ChallengeFactory, TrackFactory, imported_task

pytestmark = pytest.mark.django_db


def test_a_zip_bundle_becomes_a_task_with_its_files_in_storage(tmp_path: Path) -> None:
    folder = write_classification_bundle(tmp_path / "bundle", images=True)
    source = zip_bundle(folder, tmp_path / "birds.zip", prefix="birds/")

    task = task_import(source=source, challenge_slug="spring-cup", track_slug="kway")

    task.refresh_from_db()
    assert (task.slug, task.kind, task.title) == (
        "demo-classification",
        "classification",
        "Demo classification",
    )
    assert task.classes == ["bird", "cat", "dog"]
    assert (task.train_rows, task.test_rows, task.primary_metric) == (60, 30, "accuracy")
    assert [c["name"] for c in task.columns] == ["title", "price", "color", "photo"]
    assert task.meta["slug"] == task.slug and task.card["rows"] == {"train": 60, "test": 30}
    assert task.description == "A small **classification** task for tests."
    for field in ("train_csv", "train_parquet", "test_csv", "test_parquet", "images_zip"):
        stored = getattr(task, field)
        assert stored.name.startswith(f"tasks/{task.slug}/")
        assert stored.storage.location == storages["default"].location
        assert stored.storage.exists(stored.name)
    # The solution is only in the private storage, never under MEDIA_ROOT.
    assert task.solution.storage.location == storages["private"].location
    assert task.solution.storage.exists(task.solution.name)
    assert not storages["default"].exists(task.solution.name)
    with task.solution.open("rb") as handle:
        solution = pd.read_parquet(handle)
    assert list(solution.columns) == ["id", "label", "split"]
    assert set(solution["split"]) == {"public", "private"}


def test_missing_challenge_and_track_are_created_open_for_90_days(tmp_path: Path) -> None:
    before = timezone.now()
    task = imported_task(
        tmp_path, kind="matching", challenge_slug="record-linkage", track_slug="pairs"
    )

    challenge = Challenge.objects.get(slug="record-linkage")
    assert task.track.slug == "pairs" and task.track.challenge == challenge
    assert challenge.title == "Record linkage" and task.track.title == "Pairs"
    assert before <= challenge.start <= timezone.now()
    assert (challenge.end - challenge.start).days == 90
    assert challenge.is_open()


def test_titles_can_be_given_and_existing_challenge_and_track_are_reused(tmp_path: Path) -> None:
    track = TrackFactory(slug="kway", challenge=ChallengeFactory(slug="cup", title="The Cup"))
    task = imported_task(tmp_path, challenge_slug="cup", track_slug="kway")
    assert task.track == track and Challenge.objects.count() == 1

    write_matching_bundle(tmp_path / "m")
    other = task_import(
        source=tmp_path / "m",
        challenge_slug="new-cup",
        track_slug="matching-track",
        challenge_title="New Cup 2027",
        track_title="Matching",
    )
    assert other.track.title == "Matching" and other.track.challenge.title == "New Cup 2027"
    assert Track.objects.get(slug="kway").title == track.title


def test_a_title_another_task_of_the_track_has_is_made_distinct(tmp_path: Path) -> None:
    """A track's board names its columns by title: a bundle whose task.yaml title is already
    a task's in the track gets its slug beside it, and the organizer is told; in another
    track the title stays as it is."""
    first = task_import(
        source=write_classification_bundle(tmp_path / "a", task={"slug": "a", "title": "Birds"}),
        challenge_slug="cup",
        track_slug="kway",
    )
    second = task_import(
        source=write_classification_bundle(
            tmp_path / "b", task={"slug": "birds-2", "title": "  birds "}
        ),
        challenge_slug="cup",
        track_slug="kway",
    )
    elsewhere = task_import(
        source=write_classification_bundle(tmp_path / "c", task={"slug": "c", "title": "Birds"}),
        challenge_slug="cup",
        track_slug="other",
    )
    assert (first.title, second.title, elsewhere.title) == ("Birds", "birds (birds-2)", "Birds")
    assert second.import_warnings[-1] == (
        "task.yaml's title 'birds' is already task 'a''s title in this track: imported as "
        "'birds (birds-2)' (task.yaml's title chooses another)"
    )
    assert not any("title" in w for w in elsewhere.import_warnings)


def test_parquet_files_keep_the_standard_types(tmp_path: Path) -> None:
    task = imported_task(tmp_path, kind="matching", fmt="parquet")
    with task.train_parquet.open("rb") as handle:
        train = read_standard_parquet(handle, task.meta)
    assert str(train["id"].dtype) == "string" and str(train["label"].dtype) == "int64"
    assert str(train["left_price"].dtype) == "float64"


def test_a_slug_that_exists_is_refused_and_the_first_task_is_untouched(tmp_path: Path) -> None:
    first = imported_task(tmp_path)
    files_before = stored_files()
    write_classification_bundle(tmp_path / "again", task={"title": "Another"})

    with pytest.raises(TaskImportError) as refused:
        task_import(source=tmp_path / "again", challenge_slug="other", track_slug="other-track")

    assert refused.value.problems == [
        "a task with slug 'demo-classification' already exists; change the slug in task.yaml,"
        " or delete the existing task first"
    ]
    assert Task.objects.get().title == first.title
    assert not Challenge.objects.filter(slug="other").exists()
    assert stored_files() == files_before


def test_bad_destination_slugs_are_refused_with_every_bundle_problem(tmp_path: Path) -> None:
    write_classification_bundle(tmp_path / "b", task={"kind": "forecasting"})
    with pytest.raises(TaskImportError) as refused:
        task_import(source=tmp_path / "b", challenge_slug="Bad slug!", track_slug="ok")
    problems = refused.value.problems
    assert problems[0].startswith("the challenge slug 'Bad slug!' is invalid")
    assert any("kind must be one of classification, matching" in p for p in problems)


def test_a_track_of_another_challenge_is_refused(tmp_path: Path) -> None:
    TrackFactory(slug="kway", challenge=ChallengeFactory(slug="first"))
    write_classification_bundle(tmp_path / "b")
    with pytest.raises(TaskImportError) as refused:
        task_import(source=tmp_path / "b", challenge_slug="second", track_slug="kway")
    assert refused.value.problems == [
        "the track 'kway' belongs to the challenge 'first', not to 'second'; choose another"
        " track slug or that challenge"
    ]
    assert not Task.objects.exists() and not Challenge.objects.filter(slug="second").exists()


def test_a_zip_over_the_upload_cap_is_refused(tmp_path: Path, settings) -> None:
    source = zip_bundle(write_classification_bundle(tmp_path / "b"), tmp_path / "b.zip")
    settings.BUNDLE_MAX_BYTES = 100
    with pytest.raises(TaskImportError) as refused:
        task_import(source=source, challenge_slug="c", track_slug="t")
    assert "over the archive limit of 100" in refused.value.problems[0]


def test_a_storage_failure_midway_leaves_no_row_no_file_no_staging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The solution is saved last; when the private storage fails, the public files already
    written are removed and the challenge created on the way is rolled back."""
    # A slug of this test's own: other tests' tasks leave their folders in the shared media.
    write_classification_bundle(tmp_path / "b", task={"slug": "storage-failure-midway"})
    files_before = stored_files()

    def broken_save(name, content, max_length=None):
        raise OSError("disk full")

    # On the private storage's instance only (the public files must still be written), as
    # an entry of its __dict__: undone by removing it, where setattr's undo would leave the
    # old bound method on the instance and hide any later patch of the class.
    monkeypatch.setitem(vars(storages["private"]), "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        task_import(source=tmp_path / "b", challenge_slug="c", track_slug="t")

    assert not Task.objects.exists() and not Challenge.objects.exists()
    assert stored_files() == files_before
    assert not (Path(storages["default"].location) / "tasks" / "storage-failure-midway").exists()


def test_task_json_in_the_row_matches_the_card_rows(tmp_path: Path) -> None:
    task = imported_task(tmp_path, kind="matching")
    assert json.loads(json.dumps(task.meta))["classes"] == ["0", "1"]
    assert task.card["positive_rate"] == pytest.approx(1 / 3)


def test_the_standardized_files_are_moved_into_storage_not_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 10M-row task is a gigabyte of files: storing them is a rename of each (the same
    inode), never a second copy on disk; the bundle's digest is kept as before."""
    import hashlib
    import os

    import datasets.bundle_store as services

    staged: dict[str, int] = {}
    real = services.prepare_task

    def recording(*args, **kwargs):
        task = real(*args, **kwargs)
        staged.update({name: os.stat(path).st_ino for name, path in task.files.items()})
        return task

    monkeypatch.setattr(services, "prepare_task", recording)
    folder = write_classification_bundle(tmp_path / "bundle")
    task = task_import(source=folder, challenge_slug="spring-cup", track_slug="kway")
    for relative, field in services.TASK_FILES.items():
        stored = getattr(task, field)
        if not stored:
            continue
        assert os.stat(stored.storage.path(stored.name)).st_ino == staged[relative], relative
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    assert task.versions.get().sha256 == digest.hexdigest()
