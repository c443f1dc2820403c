"""``manage.py import_task``, run as an organizer would: in a subprocess, against the test
database."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from challenges.models import Challenge
from datasets.models import Task
from testkit.bundles import (
    write_classification_bundle,
    write_matching_bundle,
    zip_bundle,
)
from testkit.demo_data import data_dir_files
from tests.datasets_tests.core_broken_helpers import CASES, Case
from tests.support.celery_worker import run_manage


def run_import(*args: str) -> subprocess.CompletedProcess:
    return run_manage("import_task", *args)


@pytest.mark.django_db(transaction=True)
def test_import_task_imports_a_zip_and_prints_a_summary(tmp_path: Path) -> None:
    folder = write_classification_bundle(tmp_path / "bundle", images=True)
    source = zip_bundle(folder, tmp_path / "bundle.zip")

    result = run_import(str(source), "--challenge", "cli-cup", "--track", "kway")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Imported task 'demo-classification'" in out
    assert "kind:      classification (primary metric: accuracy)" in out
    assert "rows:      60 train, 30 test" in out
    assert "classes:   bird, cat, dog" in out
    task = Task.objects.select_related("track__challenge").get(slug="demo-classification")
    assert (task.track.slug, task.track.challenge.slug) == ("kway", "cli-cup")
    assert task.images_zip and task.train_rows == 60


@pytest.mark.django_db(transaction=True)
def test_import_task_refusal_exits_1_with_every_problem_on_stderr(tmp_path: Path) -> None:
    folder = write_classification_bundle(
        tmp_path / "bundle",
        task={"kind": "forecasting"},
        train=lambda df: df.assign(id=["c0001", *df["id"][1:]]),
        test=lambda df: df.assign(label="cat"),
    )
    source = zip_bundle(folder, tmp_path / "broken.zip")
    before = data_dir_files()

    result = run_import(str(source), "--challenge", "cli-cup", "--track", "kway")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert "broken.zip was not imported (3 problems):" in lines[0]
    problems = [line for line in lines if line.startswith("- ")]
    assert len(problems) == 3
    assert any("kind must be one of classification, matching" in p for p in problems)
    assert any("train.csv: ids appear more than once" in p for p in problems)
    assert any("test.csv must not contain a 'label' column" in p for p in problems)
    assert result.stdout == ""
    assert not Task.objects.exists() and not Challenge.objects.exists()
    assert data_dir_files() == before


def test_import_task_without_track_is_a_usage_error(tmp_path: Path) -> None:
    result = run_import(str(tmp_path), "--challenge", "c")
    assert result.returncode == 2
    assert "the following arguments are required: --track" in result.stderr
    assert "Traceback" not in result.stderr


BROKEN = [case for case in CASES if not case.caps]  # the caps are the service's settings here


@pytest.mark.django_db
@pytest.mark.parametrize("case", BROKEN, ids=[case.name for case in BROKEN])
def test_every_broken_bundle_is_refused_with_its_problems_one_line_each(
    tmp_path: Path, case: Case
) -> None:
    """Issue 51: the test suite's whole corpus of broken bundles (plus a matching train
    with a label 2 that the leak probe used to read: a traceback) through the command.
    Anything but a ``CommandError`` would be a traceback on the organizer's terminal."""
    source = case.build(tmp_path / "bundle")
    with pytest.raises(CommandError) as refused:
        call_command("import_task", str(source), "--challenge", "cli-cup", "--track", "kway")
    assert refused.value.returncode == 1
    lines = str(refused.value).splitlines()
    if len(lines) == 1:
        assert lines[0].startswith(f"{source} was not imported: ")
    else:
        assert lines[0].endswith(f"was not imported ({len(lines) - 1} problems):")
        assert all(line.startswith("- ") for line in lines[1:])
    assert any(all(word in line for word in case.words) for line in lines), lines
    assert not Task.objects.exists() and not Challenge.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_matching_label_2_in_a_large_train_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """The probe's own bundle, as the organizer runs it: no traceback from the leak probe."""
    folder = write_matching_bundle(
        tmp_path / "bundle", rows=400, train=lambda df: df.assign(label=[2, *df["label"][1:]])
    )
    result = run_import(str(folder), "--challenge", "cli-cup", "--track", "match")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"CommandError: {folder} was not imported: train.csv: matching labels must be 0 or 1;"
        " other values in 1 row (data rows 1): '2'"
    ]
    assert result.stdout == ""
