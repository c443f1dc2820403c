"""The hidden truth of a task: ids in test order, label codes and the public/private split."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from scoring.core.arrowtools import as_string, codes_of, index_of, is_text
from scoring.core.opis import OpisSettings

KINDS: tuple[str, ...] = ("classification", "matching", "grouping")
MATCHING_CLASSES = ["0", "1"]


@dataclass(frozen=True, eq=False)
class Solution:
    """``y`` holds class indexes into ``classes`` (matching: 0/1; grouping: an entity code
    per row, ``classes`` empty); ids are unique. ``opis`` says how OPIS is computed."""

    ids: pa.Array
    y: np.ndarray
    is_public: np.ndarray
    classes: list[str]
    kind: str
    opis: OpisSettings = field(default_factory=OpisSettings)

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def load_solution(
    path_or_file: str | os.PathLike[str] | BinaryIO, *, kind: str, classes: Sequence[str]
) -> Solution:
    """Read ``private/solution.parquet`` (id, label, split) of the data contract."""
    parquet = pq.ParquetFile(path_or_file)
    schema = parquet.schema_arrow
    as_dictionary = [name for name in ("label", "split") if is_text(schema.field(name).type)]
    parquet = pq.ParquetFile(path_or_file, read_dictionary=as_dictionary)
    table = parquet.read(columns=["id", "label", "split"])
    return solution_from_table(table, kind=kind, classes=classes)


def solution_from_table(table: pa.Table, *, kind: str, classes: Sequence[str]) -> Solution:
    """Build a Solution from an Arrow table with id, label and split columns.

    Grouping tasks have no classes: ``label`` holds entity ids (any text or integers).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    classes = [] if kind == "grouping" else [str(c) for c in classes]
    if kind == "matching" and classes != MATCHING_CLASSES:
        raise ValueError(f"matching tasks have classes {MATCHING_CLASSES}, not {classes}")
    if kind != "grouping" and (len(set(classes)) != len(classes) or len(classes) < 2):
        raise ValueError(f"classes must be at least two distinct names, not {classes}")

    ids, labels, split = (table[name] for name in ("id", "label", "split"))
    for name, column in (("id", ids), ("label", labels), ("split", split)):
        if column.null_count:
            raise ValueError(f"solution column {name!r} has {column.null_count} nulls")
    if not (is_text(ids.type) or pa.types.is_integer(ids.type)):
        raise ValueError(f"solution ids must be strings, not {ids.type}")

    if kind == "grouping":
        y = codes_of(labels)
    else:
        y = index_of(labels, classes)
        if (y < 0).any():
            unknown = pc.unique(labels.filter(pa.array(y < 0))).to_pylist()[:5]
            raise ValueError(f"solution labels {unknown} are not in classes {classes}")
    split_codes = index_of(split, ["private", "public"])
    if (split_codes < 0).any():
        raise ValueError('solution split must hold only "public" and "private"')
    is_public = split_codes == 1
    return Solution(
        ids=as_string(ids).combine_chunks(),
        y=y,
        is_public=is_public,
        classes=classes,
        kind=kind,
    )
