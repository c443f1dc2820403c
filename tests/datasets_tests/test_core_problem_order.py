"""A bundle with many faults is told all of them at once, each in its own words, in the order
the checks run (task.yaml, files, ids, columns, labels, the kind's rules, declared columns,
types, slices, images, stress, the leak probe); its warnings likewise. An organizer fixing a
bundle reads the list top to bottom, so the order is part of what they meet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from datasets.core import BundleInvalid, validate_bundle
from testkit.bundles import (
    png_bytes,
    write_classification_bundle,
    write_matching_bundle,
)
from tests.datasets_tests.core_broken_helpers import renaming, setting

LEAK = "train.csv: the ids or the row order alone predict 'label'"


def _problems(bundle: Path) -> list[str]:
    with pytest.raises(BundleInvalid) as refused:
        validate_bundle(bundle)
    return refused.value.problems


def _sorted_by_label(df: pd.DataFrame) -> pd.DataFrame:
    """Train sorted by class and numbered afterwards: the ids give the labels away."""
    return df.sort_values("label", kind="stable").assign(id=[f"c{i:04d}" for i in range(len(df))])


def test_spec_id_column_declared_and_slice_problems_in_check_order(tmp_path: Path) -> None:
    bundle = write_classification_bundle(
        tmp_path / "b",
        task={
            "slug": "Not A Slug",
            "columns": {"zzz": "numeric", "title": "numeric"},
            "slices": ["price"],
        },
        train=lambda df: setting("id", 1, "c0000")(df).rename(columns={"color": "split"}),
        test=lambda df: df.assign(label="cat"),
        solution=lambda df: df.assign(extra=1, more=2),
    )
    assert _problems(bundle) == [
        "task.yaml: slug 'Not A Slug' is invalid: use lowercase letters, digits and single"
        " hyphens (like 'bird-species'), at most 50 characters",
        "train.csv: ids appear more than once (1): 'c0000'",
        "test.csv must not contain a 'label' column: test labels belong in the solution",
        "solution.csv: unexpected columns 'extra', 'more'; the solution holds only id and label",
        "train.csv: columns 'split' use reserved names (id, label, split and names starting"
        " with proba_ are reserved)",
        "train and test feature columns differ (only in train.csv: 'split'; only in test.csv:"
        " 'color')",
        "task.yaml: columns: 'zzz' is declared but train.csv has no such column",
        "train.csv: column 'title' is declared numeric but holds values that are not numbers"
        " (60 rows): 'quick quick item number 0', 'lazy quick item number 1', 'bright quick"
        " item number 2', 'silent quick item number 3', 'rapid quick item number 4' and 55 more",
        "test.csv: column 'title' is declared numeric but holds values that are not numbers"
        " (30 rows): 'rapid brave item number 60', 'gentle brave item number 61', 'odd brave"
        " item number 62', 'brave brave item number 63', 'quick quick item number 64' and 25"
        " more",
        "task.yaml: slices: 'price' is a numeric column; a slice column must be categorical"
        " (declare it in columns: {price: categorical})",
    ]


def test_id_label_column_and_same_id_problems_in_check_order(tmp_path: Path) -> None:
    def train(df: pd.DataFrame) -> pd.DataFrame:
        ids = [None, None, *df["id"][2:]]
        return df.drop(columns="label").assign(proba_x=1, id=ids)

    bundle = write_classification_bundle(
        tmp_path / "b",
        train=train,
        test=lambda df: df.rename(columns={"color": "colour"}).assign(label="x"),
        solution=lambda df: setting("id", 0, "zzz")(df).drop(columns="label"),
    )
    assert _problems(bundle) == [
        "train.csv: empty id in 2 rows, at data rows 1, 2",
        "train.csv: the 'label' column is missing",
        "test.csv must not contain a 'label' column: test labels belong in the solution",
        "solution.csv: the 'label' column is missing",
        "train.csv: columns 'proba_x' use reserved names (id, label, split and names starting"
        " with proba_ are reserved)",
        "train and test feature columns differ (only in train.csv: 'color', 'proba_x'; only in"
        " test.csv: 'colour')",
        "test and solution ids differ: test.csv has 1 id missing from solution.csv: 't0000';"
        " solution.csv has 1 id not in test.csv: 'zzz'",
    ]


def test_files_without_features_and_empty_solution_labels(tmp_path: Path) -> None:
    bundle = write_classification_bundle(
        tmp_path / "b",
        train=lambda df: df[["id", "label"]],
        test=lambda df: df[["id"]],
        solution=lambda df: df.assign(label=[None] * len(df)),
    )
    assert _problems(bundle) == [
        "train.csv has no feature columns besides id and label",
        "test.csv has no feature columns besides id and label",
        "solution.csv: empty label in 30 rows, ids 't0000', 't0001', 't0002', 't0003', 't0004'"
        " and 25 more",
    ]


def test_without_train_the_test_file_s_columns_are_typed_and_checked(tmp_path: Path) -> None:
    bundle = write_classification_bundle(
        tmp_path / "b", task={"slices": ["price", "color"]}, files={"train.csv": None}
    )
    assert _problems(bundle) == [
        "train.csv or train.parquet is missing",
        "task.yaml: slices: 'price' is a numeric column; a slice column must be categorical"
        " (declare it in columns: {price: categorical})",
    ]


def test_the_kind_s_rules_follow_the_label_checks(tmp_path: Path) -> None:
    bundle = write_matching_bundle(
        tmp_path / "b",
        task={
            "opis": {"group_column": "seg"},
            "columns": {"left_price": "numeric", "right_price": "text"},
        },
        train=lambda df: renaming(left_brand="brand")(df).assign(label=2),
        solution=lambda df: df.assign(seg=1, note=2),
    )
    assert _problems(bundle) == [
        "solution.csv: unexpected columns 'note'; the solution holds only id and label",
        "train and test feature columns differ (only in train.csv: 'brand'; only in test.csv:"
        " 'left_brand')",
        "train.csv: matching labels must be 0 or 1; other values in 60 rows (data rows 1, 2, 3,"
        " 4, 5 and 55 more): '2'",
        "train.csv: matching needs both matches (1) and non-matches (0) in 'label', found only"
        " none",
        "train.csv: matching feature columns must be named left_<attr> or right_<attr>; these"
        " are not: 'brand'",
        "train.csv: unpaired matching columns: right_brand (no left_brand)",
        "task.yaml: columns: left_price and right_price form a pair and need the same type",
    ]


def test_declared_slices_images_stress_and_leak_problems_in_check_order(tmp_path: Path) -> None:
    bundle = write_classification_bundle(
        tmp_path / "b",
        rows=300,
        task={
            "leak_probe": "refuse",
            "stress": [{"family": "nope"}],
            "slices": ["title"],
            "columns": {"zzz": "text"},
        },
        train=_sorted_by_label,
        files={"images/a.png": png_bytes()},
    )
    problems = _problems(bundle)
    assert problems[:-1] == [
        "task.yaml: columns: 'zzz' is declared but train.csv has no such column",
        "task.yaml: slices: 'title' is a text column; a slice column must be categorical"
        " (declare it in columns: {title: categorical})",
        "images/ is present but no column holds image paths; declare the image columns in"
        " task.yaml (for example  columns: {photo: image})",
        "task.yaml: stress[0]: unknown family 'nope' for classification tasks; the families"
        " are: typos, missing_modality, numeric_noise, unseen_levels, shuffle_columns",
    ]
    assert problems[-1].startswith(LEAK)


def test_warnings_come_all_at_once_in_check_order(tmp_path: Path) -> None:
    def extra(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(note=None, scan=[f"scan_{i}.png" for i in range(len(df))])

    bundle = write_classification_bundle(
        tmp_path / "b",
        rows=300,
        train=lambda df: extra(_sorted_by_label(df)),
        test=extra,
        solution=setting("label", 0, "fox"),
    )
    warnings = validate_bundle(bundle).warnings
    assert warnings[:-1] == (
        "solution.csv: classes that never appear in train (1): 'fox'",
        "column 'note' is empty in every row",
        "column 'scan' looks like image paths but no file exists under images/; it is treated"
        " as text",
    )
    assert warnings[-1].startswith(LEAK)
