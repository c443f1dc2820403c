"""``task_bundle_replace``: a task's data replaced by a new version of its bundle (real
files, real database): versioned files, the old ones kept, one audit event, every problem
of a refused bundle listed and nothing changed."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from challenges.models import AuditEvent
from datasets.models import Task, TaskVersion
from datasets.replace import TaskReplaceError, task_bundle_replace
from testkit.bundles import (
    CLASSES,
    write_classification_bundle,
    write_matching_bundle,
    write_zip,
    zip_bundle,
)
from testkit.demo_data import stored_files
from tests.datasets_tests.factories import UserFactory, imported_task

pytestmark = pytest.mark.django_db

FILE_FIELDS = ("train_csv", "train_parquet", "test_csv", "test_parquet", "solution")


def relabelled(df: pd.DataFrame) -> pd.DataFrame:
    """The default solution with its first 5 labels moved to the next class."""
    labels = list(df["label"])
    for i in range(5):
        labels[i] = CLASSES[(CLASSES.index(labels[i]) + 1) % len(CLASSES)]
    return df.assign(label=labels)


def more_rows(tmp: Path, **overrides) -> Path:
    """A second version of the default classification bundle: 80 train rows, 5 labels fixed."""
    return write_classification_bundle(tmp / "v2", rows=80, solution=relabelled, **overrides)


def state(task: Task) -> dict:
    task.refresh_from_db()
    return {
        "files": {f: getattr(task, f).name for f in (*FILE_FIELDS, "images_zip")},
        "rows": (task.train_rows, task.test_rows),
        "version": task.data_version,
        "versions": TaskVersion.objects.filter(task=task).count(),
        "card": task.card,
        "audit": AuditEvent.objects.filter(action="task.replace").count(),
    }


@pytest.fixture
def task(tmp_path: Path) -> Task:
    return imported_task(tmp_path, images=True)


@pytest.fixture
def organizer_user(db):
    return UserFactory(username="org", is_staff=True)


def test_import_creates_version_1_with_the_old_file_names(task: Task) -> None:
    version = TaskVersion.objects.get(task=task)
    assert (version.number, task.data_version) == (1, 1)
    assert version.files["train_csv"] == task.train_csv.name == f"tasks/{task.slug}/train.csv"
    assert (version.train_rows, version.test_rows) == (60, 30)
    assert len(version.sha256) == 64


def test_replace_stores_a_new_version_and_keeps_the_old_files(
    task: Task, tmp_path: Path, organizer_user
) -> None:
    old = {f: getattr(task, f).name for f in FILE_FIELDS}
    source = zip_bundle(more_rows(tmp_path), tmp_path / "v2.zip")

    done = task_bundle_replace(task=task, source=source, actor=organizer_user, reason="fix labels")

    task.refresh_from_db()
    assert (done.previous, done.version.number, task.data_version) == (1, 2, 2)
    assert (task.train_rows, task.test_rows) == (80, 40)
    assert task.card["rows"] == {"train": 80, "test": 40}
    assert task.train_csv.name == f"tasks/{task.slug}/v2/train.csv"
    assert task.solution.name == f"tasks/{task.slug}/v2/solution.parquet"
    assert not task.images_zip  # the new bundle has no images
    for name in old.values():  # history: version 1's files stay where they were
        assert task.train_csv.storage.exists(name) or task.solution.storage.exists(name)
    with task.solution.open("rb") as fh:
        solution = pd.read_parquet(fh)
    assert len(solution) == 40
    version = TaskVersion.objects.get(task=task, number=2)
    assert version.created_by == organizer_user and version.note == "fix labels"
    assert version.files["solution"] == task.solution.name
    assert (version.train_rows, version.test_rows) == (80, 40)
    events = list(AuditEvent.objects.filter(action="task.replace"))
    assert len(events) == 1
    assert events[0].reason == "fix labels"
    assert events[0].before == {"data_version": 1, "train_rows": 60, "test_rows": 30}
    assert events[0].after["data_version"] == 2 and events[0].after["test_rows"] == 40


def test_a_third_version_goes_to_its_own_folder(task: Task, tmp_path: Path) -> None:
    task_bundle_replace(task=task, source=more_rows(tmp_path), actor=None, reason="")
    task_bundle_replace(
        task=task, source=write_classification_bundle(tmp_path / "v3"), actor=None, reason=""
    )
    task.refresh_from_db()
    assert task.data_version == 3 and task.test_csv.name == f"tasks/{task.slug}/v3/test.csv"
    assert list(TaskVersion.objects.filter(task=task).values_list("number", flat=True)) == [3, 2, 1]


def test_an_invalid_bundle_changes_nothing_and_lists_every_problem(
    task: Task, tmp_path: Path, organizer_user
) -> None:
    before, files = state(task), stored_files()
    source = write_classification_bundle(
        tmp_path / "bad",
        train=lambda df: df.drop(columns="label"),
        test=lambda df: df.assign(id=["t0000", *df["id"][1:-1], "t0000"]),
    )
    with pytest.raises(TaskReplaceError) as caught:
        task_bundle_replace(task=task, source=source, actor=organizer_user, reason="x")
    assert len(caught.value.problems) >= 2, caught.value.problems
    assert str(caught.value).startswith("the task was not replaced")
    assert state(task) == before
    assert stored_files() == files


def test_a_person_must_give_a_reason_listed_with_the_other_problems(
    task: Task, tmp_path: Path, organizer_user
) -> None:
    before = state(task)
    source = write_classification_bundle(tmp_path / "bad", task={"kind": "matching"})
    with pytest.raises(TaskReplaceError) as caught:
        task_bundle_replace(task=task, source=source, actor=organizer_user, reason="  ")
    assert "a reason is required" in caught.value.problems[0]
    assert len(caught.value.problems) >= 2
    assert state(task) == before


def test_a_bundle_of_another_kind_is_refused(task: Task, tmp_path: Path) -> None:
    before = state(task)
    source = write_matching_bundle(tmp_path / "m", task={"slug": task.slug})
    with pytest.raises(TaskReplaceError) as caught:
        task_bundle_replace(task=task, source=source, actor=None, reason="")
    assert caught.value.problems == [
        f"the bundle is a matching task, but '{task.slug}' is classification: a new version"
        " must keep the kind (import a new task instead)"
    ]
    assert state(task) == before


def test_a_bundle_of_another_slug_is_refused(task: Task, tmp_path: Path) -> None:
    source = write_classification_bundle(tmp_path / "o", task={"slug": "other-task"})
    with pytest.raises(TaskReplaceError) as caught:
        task_bundle_replace(task=task, source=source, actor=None, reason="")
    assert "the bundle is for the task 'other-task', not 'demo-classification'" in str(caught.value)
    assert state(task)["version"] == 1


def test_hostile_archives_are_refused_and_nothing_is_written(task: Task, tmp_path: Path) -> None:
    before, files = state(task), stored_files()
    folder = write_classification_bundle(tmp_path / "b")
    members = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    slip = write_zip(tmp_path / "slip.zip", {**members, "../../evil.txt": "owned"})
    link = write_zip(tmp_path / "link.zip", members)
    with zipfile.ZipFile(link, "a") as archive:
        info = zipfile.ZipInfo("images/x.png")
        info.external_attr = 0o120777 << 16  # a symbolic link to /etc/passwd
        archive.writestr(info, "/etc/passwd")
    for source, expected in ((slip, "'..' in the path"), (link, "symbolic link")):
        with pytest.raises(TaskReplaceError) as caught:
            task_bundle_replace(task=task, source=source, actor=None, reason="")
        assert expected in str(caught.value)
    assert state(task) == before
    assert stored_files() == files
    assert not (tmp_path.parent / "evil.txt").exists()
