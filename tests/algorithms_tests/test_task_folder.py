"""The /task folder of a run: test.parquet in row groups an algorithm can stream (issue 16);
and a run's submission names the algorithm and version that made it."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.test import Client

from algorithms.models import AlgorithmRun
from algorithms.services.execute import algorithm_run_execute
from algorithms.services.taskfolder import task_folder_write
from datasets.services import task_import
from testkit.archives import algorithm_zip
from testkit.bundles import write_regression_bundle
from tests.algorithms_tests.services_helpers import post_archive, queue
from tests.datasets_tests.core_grouping_helpers import grouping_bundle

pytestmark = pytest.mark.slow

STREAMING_MAIN = """
import os
from pathlib import Path

import json

import pyarrow.parquet as pq

task, out = Path(os.environ["TASK_DIR"]), Path(os.environ["OUTPUT_DIR"])
label = json.loads((task / "task.json").read_text())["classes"][0]
test = pq.ParquetFile(task / "test.parquet")
sizes = [test.metadata.row_group(i).num_rows for i in range(test.num_row_groups)]
print("row groups", sizes)
with open(out / "predictions.csv", "w") as fh:
    fh.write("id,label\\n")
    for i in range(test.num_row_groups):  # one row group in memory at a time
        ids = test.read_row_group(i, columns=["id"]).column("id").to_pylist()
        fh.writelines(f"{row_id},{label}\\n" for row_id in ids)
"""


def test_test_parquet_is_written_in_row_groups(world, settings, tmp_path: Path):
    settings.ALGORITHM_TEST_ROW_GROUP_ROWS = 7
    task = world.classification
    folder = task_folder_write(task=task, folder=tmp_path / "task")
    meta = pq.ParquetFile(folder / "test.parquet").metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sum(sizes) == task.test_rows
    assert meta.num_row_groups == -(-task.test_rows // 7) > 1
    assert all(size == 7 for size in sizes[:-1]) and 0 < sizes[-1] <= 7
    # Same rows, same order, same schema as the stored file.
    with task.test_parquet.open("rb") as handle:
        stored = pq.read_table(handle)
    assert pq.read_table(folder / "test.parquet").equals(stored)
    assert sorted(p.name for p in folder.iterdir()) == [
        "task.json",
        "test.parquet",
        "train.parquet",
    ]


def test_an_algorithm_streams_the_test_row_group_by_row_group(world, broker, settings):
    settings.ALGORITHM_TEST_ROW_GROUP_ROWS = 5
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip(STREAMING_MAIN)).json()
    (run,) = queue(client, algorithm["id"], tasks=[world.classification.slug]).json()["runs"]
    assert algorithm_run_execute(run_pk=run["id"]) == "succeeded", AlgorithmRun.objects.get(
        pk=run["id"]
    ).error
    stored = AlgorithmRun.objects.get(pk=run["id"])
    rows = world.classification.test_rows
    expected = [5] * (rows // 5) + ([rows % 5] if rows % 5 else [])
    assert f"row groups {expected}" in stored.log_tail


def test_a_run_s_submission_names_its_algorithm_and_version(world, broker):
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip()).json()
    (run,) = queue(client, algorithm["id"], tasks=[world.classification.slug]).json()["runs"]
    assert algorithm_run_execute(run_pk=run["id"]) == "succeeded"
    stored = AlgorithmRun.objects.get(pk=run["id"])
    body = client.get(f"/api/v1/submissions/{stored.submission_id}/").json()
    assert body["algorithm"] == {
        "id": algorithm["id"],
        "name": "Honest",
        "version": 1,
        "run": stored.pk,
    }
    web = Client()
    web.force_login(world.participant.user)
    page = web.get(f"/submissions/{stored.submission_id}/")
    assert page.status_code == 200
    assert (
        f"Made by the algorithm <strong>Honest</strong> v1 (run #{stored.pk})"
        in page.content.decode()
    )


def test_task_json_says_what_the_prediction_file_holds_for_every_kind(world, tmp_path: Path):
    """The kind tells an algorithm its output columns (and regression its tolerance)."""
    regression = task_import(
        source=write_regression_bundle(tmp_path / "reg", task={"slug": "folder-reg"}),
        challenge_slug=world.challenge.slug,
        track_slug="folder-numbers",
    )
    grouping = task_import(
        source=grouping_bundle(tmp_path / "grp", task={"slug": "folder-grp"}),
        challenge_slug=world.challenge.slug,
        track_slug="folder-groups",
    )
    classes = world.classification.classes
    expected = {
        world.classification: (["id", "label"], [f"proba_{c}" for c in classes]),
        world.matching: (["id", "label"], ["score"]),
        regression: (["id", "label"], []),
        grouping: (["id", "cluster"], []),
    }
    for task, (required, optional) in expected.items():
        folder = task_folder_write(task=task, folder=tmp_path / "folders" / task.slug)
        meta = json.loads((folder / "task.json").read_text(encoding="utf-8"))
        assert (meta["kind"], meta["output_columns"]) == (task.kind, required)
        assert meta["optional_output_columns"] == optional
        assert ("tolerance" in meta) == (task is regression)
        # Still only what a participant may know: no split seed, no OPIS group source.
        assert not {"split_seed", "public_fraction", "opis"} & set(meta)
    meta = json.loads((tmp_path / "folders" / "folder-reg" / "task.json").read_text())
    assert meta["tolerance"] == pytest.approx(regression.meta["tolerance"])
    assert meta["tolerance"] > 0


def test_the_task_folder_links_the_stored_files_whatever_their_size(world, tmp_path: Path):
    """Staging /task is a link per stored file (O(1) in the task's size), never a copy; a
    stored test file with larger row groups than the setting is still rewritten."""
    import os

    task = world.classification
    folder = task_folder_write(task=task, folder=tmp_path / "task")
    for name, field in (("train.parquet", task.train_parquet), ("test.parquet", task.test_parquet)):
        stored = Path(field.storage.path(field.name))
        assert os.stat(folder / name).st_ino == os.stat(stored).st_ino, name
        assert os.access(folder / name, os.R_OK)


def test_a_runs_task_digest_is_read_once_and_is_the_folders(world, tmp_path: Path, settings):
    from django.core.cache import cache

    from algorithms.services import manifest

    cache.clear()
    task = world.classification
    first = task_folder_write(task=task, folder=tmp_path / "first")
    digest = manifest.task_data_sha256(task=task, folder=first)
    assert digest == manifest.task_folder_sha256(folder=first)
    second = task_folder_write(task=task, folder=tmp_path / "second")
    hashed = []
    real = manifest.task_folder_sha256
    manifest.task_folder_sha256 = lambda *, folder: hashed.append(folder) or real(folder=folder)
    try:
        assert manifest.task_data_sha256(task=task, folder=second) == digest and not hashed
        settings.ALGORITHM_TEST_ROW_GROUP_ROWS = 3  # another folder: read again
        third = task_folder_write(task=task, folder=tmp_path / "third")
        assert manifest.task_data_sha256(task=task, folder=third) == real(folder=third)
        assert hashed == [third]
    finally:
        manifest.task_folder_sha256 = real
