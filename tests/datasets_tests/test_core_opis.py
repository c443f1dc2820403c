"""The ``opis`` keys of task.yaml (docs/architecture.md §11): defaults, a test or
solution group column, and every bad value refused at once with a clear message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from datasets.core import BundleInvalid, prepare_task
from datasets.core.spec import OpisSpec, read_task_spec
from testkit.bundles import write_classification_bundle, write_matching_bundle

DEFAULT = {"group_column": None, "group_source": None, "range": [0.05, 0.95], "min_group_rows": 20}


def _problems(bundle: Path, tmp_path: Path) -> list[str]:
    with pytest.raises(BundleInvalid) as caught:
        prepare_task(bundle, work_dir=tmp_path / "w")
    return caught.value.problems


def test_without_opis_the_defaults_are_stored(tmp_path: Path) -> None:
    task = prepare_task(write_matching_bundle(tmp_path / "b"), work_dir=tmp_path / "w")
    assert task.meta["opis"] == DEFAULT
    assert json.loads(task.files["task.json"].read_text())["opis"] == DEFAULT


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_test_column_groups_the_rows(tmp_path: Path, fmt: str) -> None:
    opis = {"group_column": "left_brand", "range": [0.1, 0.9], "min_group_rows": 5}
    bundle = write_matching_bundle(tmp_path / "b", fmt=fmt, task={"opis": opis})
    task = prepare_task(bundle, work_dir=tmp_path / "w")
    assert task.meta["opis"] == {**opis, "group_source": "test"}
    solution = pd.read_parquet(task.files["private/solution.parquet"])
    assert list(solution.columns) == ["id", "label", "split"]


def test_a_solution_column_is_kept_privately_with_the_solution(tmp_path: Path) -> None:
    def segment(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(segment=[("shoes", "bags", None)[i % 3] for i in range(len(df))])

    def shuffled_segment(df: pd.DataFrame) -> pd.DataFrame:
        return segment(df).sample(frac=1, random_state=3)

    bundle = write_matching_bundle(
        tmp_path / "b", task={"opis": {"group_column": "segment"}}, solution=shuffled_segment
    )
    task = prepare_task(bundle, work_dir=tmp_path / "w")
    assert task.meta["opis"] == {**DEFAULT, "group_column": "segment", "group_source": "solution"}
    solution = pd.read_parquet(task.files["private/solution.parquet"])
    assert list(solution.columns) == ["id", "label", "segment", "split"]
    # In test's row order (the unshuffled solution's), a missing value kept missing.
    expected = [("shoes", "bags", "-")[i % 3] for i in range(len(solution))]
    assert solution["segment"].fillna("-").tolist() == expected
    for public in ("train", "test"):
        for suffix in ("csv", "parquet"):
            assert "segment" not in task.files[f"{public}.{suffix}"].read_bytes().decode("latin-1")
    assert "segment" not in json.dumps(task.card)


def test_other_extra_solution_columns_are_still_refused(tmp_path: Path) -> None:
    bundle = write_matching_bundle(
        tmp_path / "b",
        task={"opis": {"group_column": "segment"}},
        solution=lambda df: df.assign(segment="a", note="x"),
    )
    problems = _problems(bundle, tmp_path)
    assert problems == [
        "solution.csv: unexpected columns 'note'; the solution holds only id and label"
    ]


BAD_OPIS = [
    ("not-a-mapping", "opis must be a mapping with the optional keys group_column, range,"),
    (
        {"group_colum": "left_brand"},
        "unknown key 'opis.group_colum' (did you mean 'opis.group_column'?)",
    ),
    ({"range": [0.9, 0.1]}, "opis.range must be two numbers [lo, hi] with 0 <= lo < hi <= 1"),
    ({"range": [0.5, 0.5]}, "not [0.5, 0.5]"),
    ({"range": [-0.1, 0.5]}, "not [-0.1, 0.5]"),
    ({"range": [0.1, 1.5]}, "not [0.1, 1.5]"),
    ({"range": [0.1, 0.5, 0.9]}, "not [0.1, 0.5, 0.9]"),
    ({"range": ["a", 1]}, "not ['a', 1]"),
    ({"range": [False, True]}, "not [False, True]"),
    ({"range": 0.5}, "not 0.5"),
    ({"min_group_rows": 0}, "opis.min_group_rows must be a whole number >= 1, not 0"),
    ({"min_group_rows": 2.5}, "opis.min_group_rows must be a whole number >= 1, not 2.5"),
    ({"min_group_rows": True}, "opis.min_group_rows must be a whole number >= 1, not True"),
    ({"min_group_rows": "20"}, "opis.min_group_rows must be a whole number >= 1, not '20'"),
    ({"group_column": ""}, "opis.group_column must be a column name, not ''"),
    ({"group_column": 7}, "opis.group_column must be a column name, not 7"),
    ({"group_column": "label"}, "opis.group_column cannot be 'label'"),
    (
        {"group_column": "colour"},
        "opis.group_column 'colour' is neither a column of test.csv nor of solution.csv",
    ),
]


@pytest.mark.parametrize(("opis", "words"), BAD_OPIS)
def test_bad_opis_values_are_refused_with_a_clear_message(
    tmp_path: Path, opis: Any, words: str
) -> None:
    problems = _problems(write_matching_bundle(tmp_path / "b", task={"opis": opis}), tmp_path)
    assert len(problems) == 1, problems
    assert words in problems[0]
    assert problems[0].startswith("task.yaml: ")


def test_every_opis_problem_is_reported_at_once(tmp_path: Path) -> None:
    opis = {"group_column": "nowhere", "range": [1, 0], "min_group_rows": -3, "extra": 1}
    bundle = write_matching_bundle(tmp_path / "b", task={"opis": opis, "public_fraction": 2})
    problems = _problems(bundle, tmp_path)
    assert len(problems) == 5, problems
    for words in (
        "'opis.extra'",
        "opis.range",
        "opis.min_group_rows",
        "public_fraction",
        "opis.group_column 'nowhere'",
    ):
        assert any(words in p for p in problems), words


def test_a_group_column_on_a_classification_task_is_refused(tmp_path: Path) -> None:
    bundle = write_classification_bundle(
        tmp_path / "b", task={"opis": {"group_column": "color", "range": [0.2, 0.8]}}
    )
    problems = _problems(bundle, tmp_path)
    assert problems == [
        "task.yaml: opis.group_column applies to matching tasks only (classification tasks"
        " group the rows by class)"
    ]


def test_classification_takes_range_and_min_group_rows(tmp_path: Path) -> None:
    bundle = write_classification_bundle(
        tmp_path / "b", task={"opis": {"range": [0, 1], "min_group_rows": 1}}
    )
    task = prepare_task(bundle, work_dir=tmp_path / "w")
    assert task.meta["opis"] == {**DEFAULT, "range": [0.0, 1.0], "min_group_rows": 1}


def _spec(tmp_path: Path, **task: Any) -> tuple[OpisSpec, list[str]]:
    bundle = write_matching_bundle(tmp_path / "b", task=task)
    spec, problems = read_task_spec(bundle)
    return spec.opis, problems


def test_opis_problems_come_in_the_order_of_its_keys_and_fall_back_to_defaults(
    tmp_path: Path,
) -> None:
    opis = {"group_column": "id", "rnage": 1, "range": "x", "min_group_rows": 0}
    spec, problems = _spec(tmp_path, opis=opis)
    assert problems == [
        "task.yaml: unknown key 'opis.rnage' (did you mean 'opis.range'?); allowed keys:"
        " opis.group_column, opis.range, opis.min_group_rows",
        "task.yaml: opis.group_column cannot be 'id'; name a test or solution column that"
        " groups the rows",
        "task.yaml: opis.range must be two numbers [lo, hi] with 0 <= lo < hi <= 1, not 'x'",
        "task.yaml: opis.min_group_rows must be a whole number >= 1, not 0",
    ]
    assert spec == OpisSpec()


def test_a_blank_group_column_is_not_a_column_name(tmp_path: Path) -> None:
    spec, problems = _spec(tmp_path, opis={"group_column": "  ", "min_group_rows": 4})
    assert problems == ["task.yaml: opis.group_column must be a column name, not '  '"]
    assert spec == OpisSpec(min_group_rows=4)


def test_without_a_known_kind_only_the_kind_is_refused(tmp_path: Path) -> None:
    spec, problems = _spec(tmp_path, kind="nope", opis={"group_column": "left_brand"})
    assert len(problems) == 1 and problems[0].startswith("task.yaml: kind must be one of")
    assert spec == OpisSpec(group_column="left_brand")


def test_good_opis_values_are_read_as_given(tmp_path: Path) -> None:
    opis = {"group_column": "left_brand", "range": [0, 1], "min_group_rows": 3}
    spec, problems = _spec(tmp_path, opis=opis)
    assert problems == []
    assert spec == OpisSpec(group_column="left_brand", range=(0.0, 1.0), min_group_rows=3)
    assert isinstance(spec.range[0], float)
