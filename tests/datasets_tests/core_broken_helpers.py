"""Helpers of test_core_broken.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from testkit.bundles import (
    DROP,
    classification_frames,
    png_bytes,
    write_classification_bundle,
    write_matching_bundle,
    write_regression_bundle,
)


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], Path]
    words: tuple[str, ...]
    caps: dict[str, Any] = field(default_factory=dict)


def C(**overrides: Any) -> Callable[[Path], Path]:
    return lambda path: write_classification_bundle(path, **overrides)


def M(**overrides: Any) -> Callable[[Path], Path]:
    return lambda path: write_matching_bundle(path, **overrides)


def R(**overrides: Any) -> Callable[[Path], Path]:
    return lambda path: write_regression_bundle(path, **overrides)


def setting(
    column: str, row: int | list[int], value: Any
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def bend(df: pd.DataFrame) -> pd.DataFrame:
        df[column] = df[column].astype(object)
        df.loc[row, column] = value
        return df

    return bend


def renaming(**names: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda df: df.rename(columns=names)


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def outside_images(value: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return setting("photo", 0, value)


CASES = [
    Case("missing task.yaml", C(files={"task.yaml": None}), ("task.yaml is missing",)),
    Case(
        "unparsable task.yaml",
        C(files={"task.yaml": "slug: [unclosed\ntitle: x\n"}),
        ("task.yaml is not valid YAML", "line"),
    ),
    Case(
        "task.yaml nested 30,000 deep",  # the composer recursed to a RecursionError
        C(files={"task.yaml": "slug: x\ntitle: " + "[" * 30_000 + "]" * 30_000 + "\n"}),
        ("task.yaml is not valid YAML at line 2", "nested more than 32 levels deep"),
    ),
    Case(
        "task.yaml not a mapping",
        C(files={"task.yaml": "- slug\n- title\n"}),
        ("task.yaml must be a mapping", "list"),
    ),
    Case("empty task.yaml", C(files={"task.yaml": ""}), ("task.yaml must be a mapping", "empty")),
    Case(
        "unknown key",
        C(task={"tittle": "Typo"}),
        ("unknown key 'tittle'", "did you mean 'title'"),
    ),
    Case("unknown kind", C(task={"kind": "forecasting"}), ("kind must be one of", "forecasting")),
    Case("invalid slug", C(task={"slug": "Bad Slug!"}), ("slug 'Bad Slug!' is invalid",)),
    Case("slug too long", C(task={"slug": "a" * 51}), ("is invalid", "at most 50")),
    Case("missing slug", C(task={"slug": DROP}), ("slug is missing",)),
    Case("missing title", C(task={"title": DROP}), ("title is missing",)),
    Case("title not text", C(task={"title": ["a"]}), ("title must be text",)),
    Case(
        "public_fraction above 1",
        C(task={"public_fraction": 1.5}),
        ("public_fraction must be a number strictly between 0 and 1", "1.5"),
    ),
    Case(
        "public_fraction zero",
        C(task={"public_fraction": 0}),
        ("public_fraction must be a number strictly between 0 and 1",),
    ),
    Case("negative split_seed", C(task={"split_seed": -1}), ("split_seed must be a whole number",)),
    Case(
        "unknown metric",
        C(task={"metric": "auc"}),
        ("metric 'auc' is not available for classification", "accuracy"),
    ),
    Case(
        "unknown column type",
        C(task={"columns": {"title": "string"}}),
        ("column 'title' has unknown type 'string'", "numeric"),
    ),
    Case(
        "type given for label",
        C(task={"columns": {"label": "text"}}),
        ("'label' has a fixed meaning",),
    ),
    Case(
        "declared column not in train",
        C(task={"columns": {"colour": "categorical"}}),
        ("'colour' is declared but train.csv has no such column",),
    ),
    Case(
        "declared numeric column holds text",
        C(task={"columns": {"title": "numeric"}}),
        ("train.csv: column 'title' is declared numeric but holds values that are not numbers",),
    ),
    Case("missing train", C(files={"train.csv": None}), ("train.csv or train.parquet is missing",)),
    Case("missing test", C(files={"test.csv": None}), ("test.csv or test.parquet is missing",)),
    Case(
        "missing solution",
        C(fmt="parquet", files={"solution.parquet": None}),
        ("solution.csv or solution.parquet is missing",),
    ),
    Case(
        "csv and parquet for the same part",
        C(files={"test.parquet": parquet_bytes(classification_frames()["test"])}),
        ("both test.csv and test.parquet are given",),
    ),
    Case(
        "unparsable csv",
        C(files={"train.csv": 'id,title,label\n1,"never closed,cat\n'}),
        ("train.csv: 1 row with a field count other than the header's 3", "never closed"),
    ),
    Case(
        "csv rows longer than the header",
        C(files={"train.csv": "id,title,label\n1,a,cat,extra\n2,b,dog,extra\n"}),
        ("train.csv: 2 rows with a field count other than the header's 3", "'1,a,cat,extra'"),
    ),
    Case("empty csv file", C(files={"train.csv": ""}), ("train.csv is empty: it needs a header",)),
    Case(
        "unparsable parquet",
        C(fmt="parquet", files={"train.parquet": b"PAR1 this is not parquet"}),
        ("train.parquet could not be read as Parquet",),
    ),
    Case(
        "csv not utf-8",
        C(files={"train.csv": "id,title,label\n1,caf\xe9,cat\n".encode("latin-1")}),
        ("train.csv is not UTF-8",),
    ),
    Case(
        "semicolon separated csv",
        C(files={"train.csv": "id;title;label\n1;a;cat\n"}),
        ("train.csv looks separated by ';'", "use commas"),
    ),
    Case("empty train", C(train=lambda df: df.iloc[0:0]), ("train.csv has no data rows",)),
    Case(
        "empty test",
        C(fmt="parquet", test=lambda df: df.iloc[0:0]),
        ("test.parquet has no data rows",),
    ),
    Case(
        "single test row",
        C(test=lambda df: df.iloc[:1], solution=lambda df: df.iloc[:1]),
        ("test.csv has 1 row", "at least 2"),
    ),
    Case(
        "test without id",
        C(test=lambda df: df.drop(columns="id")),
        ("test.csv: the 'id' column is missing",),
    ),
    Case("uppercase ID", C(train=renaming(id="ID")), ("'id' column is missing", "lowercase")),
    Case(
        "duplicate ids",
        C(train=setting("id", [1, 2], "c0000")),
        ("train.csv: ids appear more than once", "'c0000'"),
    ),
    Case("empty id", C(train=setting("id", 2, None)), ("train.csv: empty id in 1 row", "rows 3")),
    Case(
        "train without label",
        C(train=lambda df: df.drop(columns="label")),
        ("train.csv: the 'label' column is missing",),
    ),
    Case(
        "test with label",
        C(test=lambda df: df.assign(label="cat")),
        ("test.csv must not contain a 'label' column",),
    ),
    Case(
        "train and test features differ",
        C(test=renaming(color="colour")),
        (
            "train and test feature columns differ",
            "only in train.csv: 'color'",
            "only in test.csv: 'colour'",
        ),
    ),
    Case(
        "solution without label",
        C(solution=lambda df: df.drop(columns="label")),
        ("solution.csv: the 'label' column is missing",),
    ),
    Case(
        "solution without id",
        C(solution=lambda df: df.drop(columns="id")),
        ("solution.csv: the 'id' column is missing",),
    ),
    Case(
        "solution with extra column",
        C(solution=lambda df: df.assign(Usage="Public")),
        ("solution.csv: unexpected columns 'Usage'",),
    ),
    Case(
        "test and solution ids differ",
        C(solution=setting("id", 0, "zzz")),
        (
            "test and solution ids differ",
            "test.csv has 1 id missing from solution.csv: 't0000'",
            "solution.csv has 1 id not in test.csv: 'zzz'",
        ),
    ),
    Case(
        "one class",
        C(train=lambda df: df.assign(label="cat")),
        ("at least 2 classes", "found 1"),
    ),
    Case(
        "too many classes",
        C(rows=1100, train=lambda df: df.assign(label=[f"k{i}" for i in range(len(df))])),
        ("'label' holds 1,103 classes", "over the limit of 1,000"),
    ),
    Case(
        "empty labels",
        C(train=setting("label", [0, 1], None)),
        ("train.csv: empty label in 2 rows", "'c0000', 'c0001'"),
    ),
    Case(
        "empty solution labels",
        C(solution=setting("label", 4, None)),
        ("solution.csv: empty label in 1 row", "'t0004'"),
    ),
    Case(
        "matching unpaired column",
        M(
            train=lambda df: df.drop(columns="right_brand"),
            test=lambda df: df.drop(columns="right_brand"),
        ),
        ("unpaired matching columns", "left_brand (no right_brand)"),
    ),
    Case(
        "matching without pairs",
        M(
            train=lambda df: df[["id", "left_name", "left_price", "label"]],
            test=lambda df: df[["id", "left_name", "left_price"]],
        ),
        ("matching needs at least one pair",),
    ),
    Case(
        "matching column without prefix",
        M(train=renaming(left_brand="brand"), test=renaming(left_brand="brand")),
        ("must be named left_<attr> or right_<attr>", "'brand'"),
    ),
    Case(
        "matching pair declared with two types",
        M(task={"columns": {"left_price": "numeric", "right_price": "text"}}),
        ("left_price and right_price form a pair and need the same type",),
    ),
    Case(
        "matching label not 0/1 in train",
        M(train=setting("label", 3, 2)),
        ("train.csv: matching labels must be 0 or 1", "'2'"),
    ),
    Case(  # issue 51: the leak probe (200 rows and more) read the refused labels
        "matching label 2 in a train the leak probe reads",
        M(rows=400, train=setting("label", 3, 2)),
        ("train.csv: matching labels must be 0 or 1", "(data rows 4): '2'"),
    ),
    Case(
        "regression label not a number in a train the leak probe reads",
        R(rows=400, train=setting("label", [5, 9], "lots")),
        ("train.csv: regression labels must be numbers", "2 rows (data rows 6, 10)", "'lots'"),
    ),
    Case(
        "matching label not 0/1 in solution",
        M(solution=setting("label", 0, "yes")),
        ("solution.csv: matching labels must be 0 or 1", "'yes'"),
    ),
    Case(
        "matching train with one class",
        M(train=lambda df: df.assign(label=0)),
        ("matching needs both matches (1) and non-matches (0)",),
    ),
    Case(
        "image missing from images/",
        C(images=True, files={"images/top.png": None}),
        ("column 'photo' names 1 image", "10 rows", "not found under images/", "'top.png'"),
    ),
    Case(
        "absolute image path",
        C(images=True, train=outside_images("/etc/passwd.png")),
        ("column 'photo' has image paths with absolute paths", "'/etc/passwd.png'"),
    ),
    Case(
        "image path with ..",
        C(images=True, train=outside_images("../task.png")),
        ("column 'photo' has image paths with '..'", "'../task.png'"),
    ),
    Case(
        "image not decodable",
        C(images=True, files={"images/top.png": b"\x89PNG not really"}),
        ("images/: 1 file could not be read as images", "'top.png'"),
    ),
    Case(
        "images/ without an image column",
        C(files={"images/a.png": png_bytes()}),
        ("images/ is present but no column holds image paths",),
    ),
    Case(
        "empty column name",
        C(train=renaming(color=""), test=renaming(color="")),
        ("train.csv: column 4 of the header has no name",),
    ),
    Case(
        "duplicated column name",
        C(files={"train.csv": "id,title,title,label\n1,a,b,cat\n"}),
        ("train.csv: column names appear more than once: 'title'",),
    ),
    Case(
        "column name with odd characters",
        C(train=renaming(color="col/or"), test=renaming(color="col/or")),
        ("column names with characters other than letters", "'col/or'"),
    ),
    Case(
        "reserved column names",
        C(
            train=renaming(color="split", price="proba_cat"),
            test=renaming(color="split", price="proba_cat"),
        ),
        ("reserved names", "'proba_cat'", "'split'"),
    ),
    Case(
        "nested parquet column",
        C(fmt="parquet", train=lambda df: df.assign(tags=[[1, 2]] * len(df))),
        ("train.parquet: columns 'tags' hold nested values",),
    ),
    Case(
        "csv over the row cap",
        C(),
        ("train.csv has 60 rows, over the limit of 40",),
        {"max_rows": 40},
    ),
    Case(
        "parquet over the row cap",
        C(fmt="parquet"),
        ("train.parquet has 60 rows, over the limit of 40",),
        {"max_rows": 40},
    ),
    Case(
        "file over the size cap",
        C(),
        ("train.csv is", "bytes, over the limit of 1,000 bytes"),
        {"max_file_bytes": 1000},
    ),
]


