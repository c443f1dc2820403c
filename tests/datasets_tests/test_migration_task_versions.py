"""The data migration of task versions: every task that existed before versions has its
current files as version 1 afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.datasets_tests.factories import imported_task

BEFORE = ("datasets", "0003_task_grouping_kind_and_opis")
AFTER = ("datasets", "0004_task_data_versions")


@pytest.mark.django_db(transaction=True)
def test_existing_tasks_get_their_current_files_as_version_1(tmp_path: Path) -> None:
    task = imported_task(tmp_path, images=True)
    names = {
        field: getattr(task, field).name
        for field in ("train_csv", "train_parquet", "test_csv", "test_parquet", "images_zip")
    }
    names["solution"] = task.solution.name
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([BEFORE])  # as the database was before versions
        executor.loader.build_graph()
        executor.migrate([AFTER])
        apps = executor.loader.project_state([AFTER]).apps
        Task = apps.get_model("datasets", "Task")
        TaskVersion = apps.get_model("datasets", "TaskVersion")
        migrated = Task.objects.get(pk=task.pk)
        version = TaskVersion.objects.get(task_id=task.pk)
    finally:
        # Going back unapplied every later migration that depends on BEFORE's successors
        # (other apps' too): bring the whole schema forward again for the next tests.
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert (migrated.data_version, version.number) == (1, 1)
    assert version.files == names
    assert (version.train_rows, version.test_rows) == (60, 30)
    assert version.created_at == migrated.created_at
    assert version.sha256 == "" and version.created_by_id is None
