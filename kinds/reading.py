"""Helpers of the kinds that read labels and values: refuse what cannot be scored.

A submission's values are in its own row order (the scoring core then puts them in the
solution's order); messages name how many rows are affected and a few of their ids. A
bundle's labels get a problem naming the file, the rows and the first distinct values.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from common.arrowtools import null_mask
from common.refusals import SubmissionInvalid, examples, has
from common.wording import examples as quoted
from common.wording import plural
from kinds.base import ExampleIds
from kinds.columns import float_chunks


def floats(table: pa.Table, name: str, out: np.ndarray | None = None) -> np.ndarray:
    """Column ``name`` as float64 (null: NaN); refuses a column that is not numbers.

    Written into ``out`` (as long as the table) when given, straight from Arrow's chunks:
    float64 chunks without nulls are read in place, so the values are copied once."""
    column = number_column(table, name)
    if out is None:
        out = np.empty(len(column), dtype=np.float64)
    start = 0
    for values in float_chunks(column):
        out[start : start + len(values)] = values
        start += len(values)
    return out


def number_column(table: pa.Table, name: str) -> pa.ChunkedArray:
    """Column ``name``; refuses a column that is not numbers (nulls read as NaN)."""
    column = table[name]
    if not (
        pa.types.is_floating(column.type)
        or pa.types.is_integer(column.type)
        or pa.types.is_null(column.type)
    ):
        raise SubmissionInvalid(
            f"Column {name!r} has type {column.type}; expected numbers (float64)."
        )
    return column


def empty(text: pa.ChunkedArray) -> np.ndarray:
    """True per row whose text is missing or empty."""
    return null_mask(text) | np.asarray(pc.fill_null(pc.equal(text, ""), False).to_numpy())


def refuse_empty(rows: np.ndarray, example_ids: ExampleIds, what: str = "an empty label") -> None:
    """Refuse the file when any row is empty."""
    refuse_rows(rows, what, example_ids)


def refuse_rows(rows: np.ndarray, what: str, example_ids: ExampleIds) -> None:
    """Refuse the file when any of ``rows`` is set: "3 rows have <what>, e.g. ids ..."."""
    if rows.any():
        raise SubmissionInvalid(f"{has(int(rows.sum()), 'row')} {what}, e.g. {example_ids(rows)}.")


def some(values: list[object]) -> str:
    """Up to five values and how many more there are."""
    more = len(values) - 5
    return examples(values) + (f" and {more:,} more" if more > 0 else "")


def other_values(
    problems: list[str], file_name: str, text: pa.Array, bad: pa.Array, rule: str
) -> None:
    """A bundle problem for the labels that break the kind's ``rule`` ("matching labels must
    be 0 or 1"): how many rows, the first of them (1-based data rows), and the first
    distinct values."""
    bad_values = pc.filter(text, bad)
    if len(bad_values):
        distinct = pc.unique(bad_values)
        positions = pc.indices_nonzero(pc.fill_null(bad, False))
        rows = quoted((np.asarray(positions[:5]) + 1).tolist(), total=len(positions))
        problems.append(
            f"{file_name}: {rule}; other values in {plural(len(bad_values), 'row')}"
            f" (data rows {rows}): {quoted(distinct[:5].to_pylist(), total=len(distinct))}"
        )
