"""``task_import`` stores grouping tasks and the opis settings; refusals leave nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from datasets.models import Task
from datasets.services import TaskImportError, task_import
from testkit.bundles import write_matching_bundle
from testkit.demo_data import stored_files
from tests.datasets_tests.core_grouping_helpers import grouping_bundle

pytestmark = pytest.mark.django_db


def test_a_grouping_task_is_stored_with_its_kind_and_entity_card(tmp_path: Path) -> None:
    task = task_import(source=grouping_bundle(tmp_path / "b"), challenge_slug="c", track_slug="t")
    task.refresh_from_db()
    assert (task.kind, task.classes, task.primary_metric) == ("grouping", [], "pairwise_f1")
    assert task.card["entities"]["entities"] == 24
    assert task.opis["group_column"] is None


def test_opis_settings_and_a_private_group_column_are_stored(tmp_path: Path) -> None:
    bundle = write_matching_bundle(
        tmp_path / "b",
        task={"opis": {"group_column": "segment", "range": [0.2, 0.8], "min_group_rows": 3}},
        solution=lambda df: df.assign(segment=["a", "b"] * (len(df) // 2)),
    )
    task = task_import(source=bundle, challenge_slug="c", track_slug="t")
    task.refresh_from_db()
    assert task.opis == {
        "group_column": "segment",
        "group_source": "solution",
        "range": [0.2, 0.8],
        "min_group_rows": 3,
    }
    with task.solution.open("rb") as handle:
        assert pd.read_parquet(handle)["segment"].tolist()[:4] == ["a", "b", "a", "b"]
    with task.test_csv.open("rb") as handle:
        assert b"segment" not in handle.read()


def test_bad_opis_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    bundle = write_matching_bundle(
        tmp_path / "b", task={"opis": {"range": [0.9, 0.1], "min_group_rows": 0}}
    )
    before = stored_files()  # other tests' files may share the data folder
    with pytest.raises(TaskImportError) as caught:
        task_import(source=bundle, challenge_slug="c", track_slug="t")
    assert len(caught.value.problems) == 2
    assert not Task.objects.exists()
    assert stored_files() == before
