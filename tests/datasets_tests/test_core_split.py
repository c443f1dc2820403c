"""The public/private split: deterministic from the seed, stratified by label, never one-sided."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from common.split import split_public_private
from datasets.core import prepare_task
from testkit.bundles import write_classification_bundle, write_matching_bundle


def _labels(counts: dict[str, int]) -> pd.Series:
    return pd.Series([c for c, n in counts.items() for _ in range(n)], dtype="string")


def test_same_seed_same_split_other_seed_other_split() -> None:
    labels = _labels({"a": 40, "b": 25, "c": 35})
    first = split_public_private(labels, public_fraction=0.3, seed=3)
    again = split_public_private(labels, public_fraction=0.3, seed=3)
    other = split_public_private(labels, public_fraction=0.3, seed=4)
    pd.testing.assert_series_equal(first, again)
    assert not first.equals(other)


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5, 0.75])
def test_each_class_gets_its_rounded_share_of_public_rows(fraction: float) -> None:
    counts = {"a": 40, "b": 25, "c": 7, "d": 1}
    labels = _labels(counts)
    split = split_public_private(labels, public_fraction=fraction, seed=0)
    public = split.eq("public").groupby(labels).sum()
    for label, n in counts.items():
        assert public[label] == math.floor(fraction * n + 0.5), label
    assert set(split) <= {"public", "private"}


@pytest.mark.parametrize(("fraction", "expected_public"), [(0.1, 1), (0.9, 1)])
def test_both_splits_always_get_a_row(fraction: float, expected_public: int) -> None:
    split = split_public_private(_labels({"a": 2}), public_fraction=fraction, seed=0)
    assert int(split.eq("public").sum()) == expected_public
    assert int(split.eq("private").sum()) == 2 - expected_public


def test_split_follows_row_order_not_label_order() -> None:
    labels = _labels({"b": 10, "a": 10}).sample(frac=1, random_state=0).reset_index(drop=True)
    split = split_public_private(labels, public_fraction=0.5, seed=1)
    assert split.index.equals(labels.index)
    assert split.eq("public").groupby(labels).sum().to_dict() == {"a": 5, "b": 5}


def test_solution_split_is_reproducible_and_seeded(tmp_path: Path) -> None:
    def solution(name: str, **task: object) -> pd.DataFrame:
        bundle = write_classification_bundle(tmp_path / f"b-{name}", task=task)
        task_ = prepare_task(bundle, work_dir=tmp_path / f"w-{name}")
        return pd.read_parquet(task_.files["private/solution.parquet"])

    first, again = solution("one"), solution("two")
    pd.testing.assert_frame_equal(first, again)
    reseeded = solution("three", split_seed=11)
    assert not first["split"].equals(reseeded["split"])
    public = first[first["split"] == "public"]["label"].value_counts().to_dict()
    assert public == {"bird": 3, "cat": 3, "dog": 3}


def test_matching_split_is_stratified_on_0_and_1(tmp_path: Path) -> None:
    bundle = write_matching_bundle(tmp_path / "b", task={"public_fraction": 0.5})
    task = prepare_task(bundle, work_dir=tmp_path / "w")
    solution = pd.read_parquet(task.files["private/solution.parquet"])
    counts = solution.groupby(["label", "split"]).size().to_dict()
    assert counts == {(0, "private"): 10, (0, "public"): 10, (1, "private"): 5, (1, "public"): 5}
