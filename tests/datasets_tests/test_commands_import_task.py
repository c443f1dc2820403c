"""``manage.py import_task``, run as an organizer would: in a subprocess, against the test
database."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from challenge_platform.models import Challenge
from datasets.models import Task
from tests.datasets_tests.bundles import write_classification_bundle, zip_bundle
from tests.datasets_tests.conftest import data_dir_files
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
