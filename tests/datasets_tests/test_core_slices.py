"""task.yaml's ``slices`` (the champion gate's slice columns, docs/developers/data-contract.md):
named categorical test columns reach ``task.json``; anything else is a problem of the bundle,
reported with the others, and nothing is imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from datasets.core import BundleInvalid, prepare_task
from testkit.bundles import write_classification_bundle, write_matching_bundle


def test_categorical_test_columns_become_the_task_s_slices(tmp_path: Path) -> None:
    task = prepare_task(
        write_classification_bundle(tmp_path / "b", task={"slices": ["color"]}),
        work_dir=tmp_path / "w",
    )
    assert task.meta["slices"] == ["color"]
    pairs = prepare_task(
        write_matching_bundle(
            tmp_path / "m",
            task={"slices": ["left_brand"], "columns": {"left_brand": "categorical"}},
        ),
        work_dir=tmp_path / "w2",
    )
    assert pairs.meta["slices"] == ["left_brand"]
    plain = prepare_task(write_classification_bundle(tmp_path / "p"), work_dir=tmp_path / "w3")
    assert "slices" not in plain.meta  # task.json is unchanged without them


@pytest.mark.parametrize(
    ("slices", "problem"),
    [
        (["price"], "task.yaml: slices: 'price' is a numeric column; a slice column must be"),
        (["title"], "task.yaml: slices: 'title' is a text column"),
        (["nope"], "task.yaml: slices: 'nope' is not a feature column of test.csv"),
        ("color", "task.yaml: slices must be a list of column names, not 'color'"),
        ([""], "task.yaml: slices must be a list of column names"),
        ([{"a": 1}], "task.yaml: slices must be a list of column names"),
        (["id"], "task.yaml: slices cannot name 'id'"),
        (["color", "color"], "task.yaml: slices names a column twice"),
        ([f"c{i}" for i in range(11)], "task.yaml: slices names 11 columns; at most 10"),
    ],
)
def test_bad_slices_are_problems_of_the_bundle(tmp_path: Path, slices, problem: str) -> None:
    bundle = write_classification_bundle(tmp_path / "b", task={"slices": slices})
    with pytest.raises(BundleInvalid) as caught:
        prepare_task(bundle, work_dir=tmp_path / "w")
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems
    assert not (tmp_path / "w" / "task").exists() or not any((tmp_path / "w" / "task").iterdir())
