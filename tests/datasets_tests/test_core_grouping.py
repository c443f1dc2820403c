"""Grouping tasks (docs/architecture.md §11): entity ids in ``label``, disjoint train and
test entities."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from datasets.core import BundleInvalid, prepare_task

from .core_grouping_helpers import GROUPING, _entities, grouping_bundle  # noqa: F401


def _problems(bundle: Path, tmp_path: Path) -> list[str]:
    with pytest.raises(BundleInvalid) as caught:
        prepare_task(bundle, work_dir=tmp_path / "w")
    assert not (tmp_path / "w" / "task").exists() or not any((tmp_path / "w" / "task").iterdir())
    return caught.value.problems


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_grouping_bundle_becomes_a_task_without_classes(tmp_path: Path, fmt: str) -> None:
    task = prepare_task(grouping_bundle(tmp_path / "b", fmt=fmt), work_dir=tmp_path / "w")
    meta = task.meta
    assert (meta["kind"], meta["classes"], meta["primary_metric"]) == (
        "grouping",
        [],
        "pairwise_f1",
    )
    assert task.warnings == ()
    train = pd.read_parquet(task.files["train.parquet"])
    assert train["label"].dtype == "string"
    assert train["label"].iloc[:3].tolist() == ["e0", "e1", "e1"]
    card = json.loads(task.files["card.json"].read_text())
    assert "class_balance" not in card
    entities = card["entities"]
    # 60 train rows in entities of 1, 2, 3, 4 records: 6 full rounds of 10 rows.
    assert (entities["entities"], entities["records"]) == (24, 60)
    assert entities["singleton_share"] == pytest.approx(6 / 24)
    assert entities["records_per_entity"]["min"] == 1
    assert entities["records_per_entity"]["max"] == 4
    assert entities["records_per_entity"]["mean"] == pytest.approx(2.5)
    histogram = {b["records"]: b["entities"] for b in entities["records_per_entity"]["histogram"]}
    assert histogram == {"1": 6, "2": 6, "3": 6, "4": 6, "5-9": 0, "10+": 0}


def test_grouping_split_keeps_each_entity_on_one_side(tmp_path: Path) -> None:
    def split(name: str, **task: Any) -> pd.DataFrame:
        bundle = grouping_bundle(tmp_path / f"b-{name}", task=task, rows=200)
        done = prepare_task(bundle, work_dir=tmp_path / f"w-{name}")
        return pd.read_parquet(done.files["private/solution.parquet"])

    solution = split("one")
    assert list(solution.columns) == ["id", "label", "split"]
    assert solution.groupby("label")["split"].nunique().max() == 1
    entities = solution.groupby("label")["split"].first()
    assert set(entities) == {"public", "private"}
    # round(0.3 * entities) of the entities are public.
    assert int((entities == "public").sum()) == int(0.3 * len(entities) + 0.5)
    pd.testing.assert_frame_equal(solution, split("again"))
    assert not solution["split"].equals(split("seeded", split_seed=5)["split"])


def test_overlapping_train_and_test_entities_are_refused_with_the_shared_ids(
    tmp_path: Path,
) -> None:
    def overlap(df: pd.DataFrame) -> pd.DataFrame:
        df = _entities("t", [3, 1, 2])(df)
        df.loc[[0, 1], "label"] = ["e1", "e2"]
        return df

    bundle = grouping_bundle(tmp_path / "b", solution=overlap, task={"metric": "accuracy"})
    problems = _problems(bundle, tmp_path)
    shared = [p for p in problems if "disjoint" in p]
    assert len(shared) == 1
    assert "share 2 entity ids in 'label': 'e1', 'e2'" in shared[0]
    assert shared[0].startswith("train.csv and solution.csv")
    # Every problem at once: the metric is refused in the same report.
    assert any("metric 'accuracy' is not available for grouping" in p for p in problems)
    assert any("pairwise_f1" in p for p in problems)


def test_grouping_needs_an_entity_for_every_record(tmp_path: Path) -> None:
    def empty(df: pd.DataFrame) -> pd.DataFrame:
        df = _entities("e", [2])(df)
        df.loc[3, "label"] = None
        return df

    problems = _problems(grouping_bundle(tmp_path / "b", train=empty), tmp_path)
    assert problems == ["train.csv: empty label in 1 row, ids 'c0003'"]


def test_grouping_takes_no_class_limit_and_any_entity_count(tmp_path: Path) -> None:
    # 1,500 train entities: far over the 1,000-class limit of classification.
    bundle = grouping_bundle(
        tmp_path / "b", rows=3000, train=_entities("e", [2]), solution=_entities("t", [2])
    )
    task = prepare_task(bundle, work_dir=tmp_path / "w")
    assert task.card["entities"]["entities"] == 1500
    assert task.card["entities"]["singleton_share"] == 0.0


def test_a_solution_where_no_records_share_an_entity_is_warned(tmp_path: Path) -> None:
    bundle = grouping_bundle(tmp_path / "b", solution=_entities("t", [1]))
    task = prepare_task(bundle, work_dir=tmp_path / "w")
    assert task.warnings == (
        "solution.csv gives no two records the same entity in 'label'; there are no pairs to find",
    )


def test_unknown_kind_message_keeps_its_words_and_names_grouping(tmp_path: Path) -> None:
    problems = _problems(grouping_bundle(tmp_path / "b", task={"kind": "forecasting"}), tmp_path)
    kind = next(p for p in problems if "kind must be one of" in p)
    assert "kind must be one of classification, matching, not 'forecasting'" in kind
    assert "grouping" in kind
