"""Malformed submission files, one per validation rule, and the message each must produce.

Every file here passes the cheap upload checks (it looks like CSV / gzip / Parquet with an
``id`` in its header), so it is stored, queued and refused by the worker's full validation.
``build`` gets the task's valid predictions (``factories.predictions_frame``) to bend.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tests.scoring_tests.factories import csv_bytes, parquet_bytes


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # the task kind it is built for
    build: Callable[[pd.DataFrame], bytes]
    expect: str  # a fragment of the participant's message
    settings: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


def _csv(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[pd.DataFrame], bytes]:
    return lambda frame: csv_bytes(change(frame.copy()))


def _parquet(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[pd.DataFrame], bytes]:
    return lambda frame: parquet_bytes(change(frame.copy()))


def _set(column: str, row: int, value) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        return frame

    return change


def _label_only(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["id", "label"]]


def _text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False)


def _ragged(frame: pd.DataFrame) -> bytes:
    lines = _text(_label_only(frame)).splitlines()
    lines[4] += ",extra"
    return ("\n".join(lines) + "\n").encode()


def _late_latin1(frame: pd.DataFrame) -> bytes:
    """Valid UTF-8 for the first 8 KB the upload check reads, then a Latin-1 byte."""
    frame = _label_only(frame).copy()
    frame["comment"] = "x" * 400
    data = csv_bytes(frame)
    assert len(data) > 9000
    cut = data.rindex(b"\n", 0, len(data) - 1) + 1  # the last row
    last = data[cut:].replace(b",", b",\xe9", 1)
    return data[:cut] + last


def _separated(sep: str) -> Callable[[pd.DataFrame], bytes]:
    return lambda frame: _label_only(frame).to_csv(index=False, sep=sep).encode()


def _duplicate_header(frame: pd.DataFrame) -> bytes:
    text = _text(_label_only(frame).assign(label2=frame["label"]))
    return text.replace("label2", "label", 1).encode()


def _gz(build: Callable[[pd.DataFrame], bytes]) -> Callable[[pd.DataFrame], bytes]:
    return lambda frame: gzip.compress(build(frame))


def _other_ids(frame: pd.DataFrame) -> pd.DataFrame:
    frame["id"] = "row-" + frame["id"].astype(str)
    return frame


def _ids_as_floats(frame: pd.DataFrame) -> pd.DataFrame:
    frame["id"] = np.arange(len(frame), dtype=float) + 0.5
    return frame


def _labels_as_floats(frame: pd.DataFrame) -> pd.DataFrame:
    frame["label"] = np.arange(len(frame), dtype=float)
    return frame


def _null_id(frame: pd.DataFrame) -> pd.DataFrame:
    frame["id"] = frame["id"].astype(object)
    frame.loc[2, "id"] = None
    return frame


def _proba_sum(frame: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in frame.columns if c.startswith("proba_")]
    frame[cols] = frame[cols] * 0.5
    return frame


C, M = "classification", "matching"
CORPUS: list[Case] = [
    Case("header only", C, lambda f: b"id,label\n", "has no rows"),
    Case(
        "no label column",
        C,
        _csv(lambda f: f[["id"]].assign(prediction=f["label"])),
        "'label' is missing. Found 2 columns: 'id', 'prediction'",
    ),
    Case(
        "label column in capitals",
        C,
        _csv(lambda f: _label_only(f).rename(columns={"label": "Label"})),
        "case-sensitive",
    ),
    Case("missing rows", C, _csv(lambda f: f.iloc[3:]), "3 test ids are missing"),
    Case(
        "unknown ids",
        C,
        _csv(_set("id", 0, "not-a-test-id")),
        "an id that is not in the test set, e.g. 'not-a-test-id'",
    ),
    Case(
        "duplicate ids",
        C,
        _csv(lambda f: pd.concat([f, f.iloc[:2]])),
        "2 ids appear more than once",
    ),
    Case("empty id", C, _csv(_set("id", 1, "")), "an empty id"),
    Case("no id matches", C, _csv(_other_ids), "No id matches"),
    Case("null id (parquet)", C, _parquet(_null_id), "1 row has no id"),
    Case(
        "ids are floats (parquet)",
        C,
        _parquet(_ids_as_floats),
        "Column 'id' has type double; expected text",
    ),
    Case("unknown class", C, _csv(_set("label", 0, "fish")), "a label that is not a class: 'fish'"),
    Case("empty label", C, _csv(_set("label", 5, "")), "1 row has an empty label"),
    Case(
        "labels are floats (parquet)",
        C,
        _parquet(_labels_as_floats),
        "Column 'label' has type double",
    ),
    Case(
        "a class without probabilities",
        C,
        _csv(lambda f: f.drop(columns="proba_dog")),
        "Give probabilities for every class or for none",
    ),
    Case(
        "probabilities for an unknown class",
        C,
        _csv(lambda f: f.assign(proba_fish=0.0)),
        "unknown: 'proba_fish'",
    ),
    Case(
        "probability not a number",
        C,
        _csv(_set("proba_cat", 3, "abc")),
        "Column 'proba_cat' must hold numbers, but line 5 holds 'abc'",
    ),
    Case("negative probability", C, _csv(_set("proba_bird", 2, -0.5)), "outside [0, 1]"),
    Case("empty probability", C, _csv(_set("proba_bird", 2, None)), "an empty or NaN probability"),
    Case("probabilities sum to 0.5", C, _csv(_proba_sum), "do not sum to 1"),
    Case("ragged row", C, _ragged, "Line 5 has 3 values but the header has 2 columns"),
    Case(
        "Latin-1 after the first 8 KB", C, _late_latin1, "not UTF-8 text: line 31 has the byte 0xe9"
    ),
    Case("semicolon separated", C, _separated(";"), "separated by semicolons; use commas"),
    Case("tab separated", C, _separated("\t"), "separated by tabs; use commas"),
    Case("duplicate column names", C, _duplicate_header, "duplicate column name: 'label'"),
    Case("corrupt gzip", C, lambda f: b"\x1f\x8b\x08\x00" + b"garbage" * 20, "does not decompress"),
    Case("gzip of nothing", C, lambda f: gzip.compress(b""), "unpacks to an empty file"),
    Case(
        "gzipped parquet",
        C,
        _gz(parquet_bytes),
        "Gzipped Parquet is not accepted",
    ),
    Case("gzipped twice", C, _gz(_gz(csv_bytes)), "gzipped twice"),
    Case(
        "gzip bomb over the size limit",
        C,
        lambda f: gzip.compress(b"id,label\n" + b"0" * 200_000),
        "unpacks to more than the limit",
        settings={"SUBMISSION_MAX_BYTES": 100_000},
    ),
    Case("damaged parquet", C, lambda f: b"PAR1" + b"\x00garbage" * 50, "not a readable Parquet"),
    Case(
        "parquet without label",
        C,
        _parquet(lambda f: f[["id"]]),
        "'label' is missing. Found 1 column: 'id'",
    ),
    Case("gzipped CSV missing a row", C, _gz(_csv(lambda f: f.iloc[1:])), "1 test id is missing"),
    Case("matching label 2", M, _csv(_set("label", 0, 2)), "a label other than 0 or 1: '2'"),
    Case(
        "matching label yes", M, _csv(_set("label", 1, "yes")), "a label other than 0 or 1: 'yes'"
    ),
    Case("matching score above 1", M, _csv(_set("score", 0, 1.5)), "a score outside [0, 1]"),
    Case("matching empty score", M, _csv(_set("score", 0, None)), "an empty or NaN score"),
    Case(
        "matching score not a number",
        M,
        _csv(_set("score", 0, "high")),
        "Column 'score' must hold numbers",
    ),
]
