"""The hidden truth of a task: ids in test order, the truth of each row (its kind reads the
labels: class indexes, 0/1, entity codes...) and the public/private split."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from common.arrowtools import as_string, index_of, is_text, one_array
from common.numbered import IdShape, shape_from_metadata
from kinds import TaskKind, kind_get
from scoring.core.opis import OpisSettings


@dataclass(frozen=True, eq=False)
class Solution:
    """``y`` is the truth as the task's kind reads it (classification: class indexes into
    ``classes``; matching: 0/1; grouping: an entity code per row, ``classes`` empty); ids are
    unique. ``opis`` says how OPIS is computed; ``options`` are the kind's own settings
    (``TaskKind.solution_options``). ``id_shape`` is the ids' shape as the import proved it
    and stored it in the file (``common.numbered``; None: not numbered, counted nor spread),
    when ``id_shape_known``; otherwise scoring finds it from the ids. ``keys_path`` is
    where the import stored the table of the ids' keys (``common.keyfile``; None: none
    known), read instead of made when it is these ids'."""

    ids: pa.Array
    y: np.ndarray
    is_public: np.ndarray
    classes: list[str]
    kind: str
    opis: OpisSettings = field(default_factory=OpisSettings)
    options: Mapping[str, Any] = field(default_factory=dict)
    id_shape: IdShape = None
    id_shape_known: bool = False
    keys_path: str | None = None

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @functools.cached_property
    def y_and_split(self) -> np.ndarray | None:
        """Each row's code and split in one narrow integer, ``2 y + is_public``, made once
        (None: ``y`` is not a code >= 0). A shuffled submission's rows gather both truths
        into their order with one random read a row, of a byte for up to 128 classes: at
        30M rows a gather costs its cache misses, so the two gathers of ``y`` (int32) and
        ``is_public`` took 0.66 s and this one takes 0.30 s with the unpacking."""
        y = self.y
        if y.size == 0 or y.dtype.kind not in "iu" or int(y.min()) < 0:
            return None
        packed = np.empty(y.size, dtype=np.min_scalar_type(2 * int(y.max()) + 1))
        np.left_shift(y, 1, out=packed, casting="unsafe")  # fits: the type was chosen for it
        packed |= self.is_public
        return packed

    @functools.cached_property
    def public_rows(self) -> np.ndarray:
        """The public rows' positions, in order, found once: taking a 10M-row array's public
        rows by them (``np.take``) costs 9 ms where its boolean mask costs 45 ms (a byte
        a row) to 130 ms (eight)."""
        return np.flatnonzero(np.asarray(self.is_public, dtype=bool))

    @functools.cached_property
    def y_public(self) -> np.ndarray:
        """``y`` of the public rows (made once)."""
        return np.take(np.asarray(self.y), self.public_rows)

    @property
    def task_kind(self) -> TaskKind:
        return kind_get(self.kind)

    def is_right(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """Per row, whether ``pred`` is right about ``y`` (docs/architecture.md §11), as
        the task's kind and options say: the flips' rule (``common.flips.RightRule``)."""
        return self.task_kind.rows_right(y, pred, self.options)


def load_solution(
    path_or_file: str | os.PathLike[str] | BinaryIO,
    *,
    kind: str,
    classes: Sequence[str],
    options: Mapping[str, Any] | None = None,
) -> Solution:
    """Read ``private/solution.parquet`` (id, label, split) of the data contract."""
    parquet = pq.ParquetFile(path_or_file)
    schema = parquet.schema_arrow
    as_dictionary = [name for name in ("label", "split") if is_text(schema.field(name).type)]
    parquet = pq.ParquetFile(path_or_file, read_dictionary=as_dictionary)
    table = parquet.read(columns=["id", "label", "split"])
    return solution_from_table(table, kind=kind, classes=classes, options=options)


def solution_from_table(
    table: pa.Table,
    *,
    kind: str,
    classes: Sequence[str],
    options: Mapping[str, Any] | None = None,
) -> Solution:
    """Build a Solution from an Arrow table with id, label and split columns.

    The kind checks ``classes`` and reads the labels (grouping: entity ids, no classes).
    The ids' shape is taken from the table's schema metadata when the import recorded it.
    """
    task_kind = kind_get(kind)
    checked = task_kind.solution_classes(classes)
    ids, labels, split = (table[name] for name in ("id", "label", "split"))
    for name, column in (("id", ids), ("label", labels), ("split", split)):
        if column.null_count:
            raise ValueError(f"solution column {name!r} has {column.null_count} nulls")
    if not (is_text(ids.type) or pa.types.is_integer(ids.type)):
        raise ValueError(f"solution ids must be strings, not {ids.type}")
    y = task_kind.truth(labels, checked)
    split_codes = index_of(split, ["private", "public"])
    if (split_codes < 0).any():
        raise ValueError('solution split must hold only "public" and "private"')
    is_public = split_codes == 1
    text_ids = one_array(as_string(ids))
    known, shape = shape_from_metadata(table.schema.metadata, text_ids)
    return Solution(
        ids=text_ids,
        y=y,
        is_public=is_public,
        classes=checked,
        kind=kind,
        options=dict(options or {}),
        id_shape=shape,
        id_shape_known=known,
    )
