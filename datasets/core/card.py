"""The dataset card: a JSON-serialisable summary of a standardized task's tables.

Column statistics cover train and test together; what the card says of the labels (the
class balance, grouping's entity statistics...: ``TaskKind.card_labels``) covers train.
The card is built while the standardized files are written, one batch at a time
(:class:`CardBuilder`): rows, missing shares, numeric min/max/mean and text lengths are
exact; ``distinct`` is exact up to ``DISTINCT_CAP`` values and otherwise a lower bound
flagged ``"distinct_is_lower_bound": true``; categorical top values are exact unless
flagged ``"top_values_approximate": true`` (more than ``DISTINCT_CAP`` values).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasets.core.profile import Distinct
from kinds import kind_get
from kinds.cards import number

if TYPE_CHECKING:
    import pandas as pd

# A column written as text whose type (text or categorical) is decided once the whole
# bundle is read (``datasets.core.stream``): it gathers what either type's summary needs
# until :meth:`CardBuilder.settle` names it.
STRING = "string"
EXAMPLE_ROWS = 5
EXAMPLE_CHARS = 80
TOP_VALUES = 10
DISTINCT_CAP = 100_000


class _Column:
    """Running statistics of one standardized column."""

    def __init__(self, name: str, column_type: str) -> None:
        self.name, self.type = name, column_type
        self.rows = self.missing = self.length = 0
        self.count, self.total = 0, 0.0
        self.low: float | None = None
        self.high: float | None = None
        self.distinct = Distinct(DISTINCT_CAP)
        self.counts: list[pa.Table] = []
        self.counts_capped = False

    def add(self, values: pa.Array) -> None:
        self.rows += len(values)
        self.missing += values.null_count
        present = pc.drop_null(values)
        if self.type in ("text", STRING):
            self.count += len(present)
            self.length += pc.sum(pc.utf8_length(present)).as_py() or 0
        if self.type in ("categorical", STRING) and not self.counts_capped:
            # One hash of the batch: its counts' values are its distinct values, in the
            # order they first appear.
            pairs = pc.value_counts(present).flatten()
            self.distinct.add(pairs[0])
            if self.distinct.overflow:
                self.counts_capped = True
                return
            self.counts.append(pa.table({"value": pairs[0], "count": pairs[1]}))
            if len(self.counts) > 16:
                self.counts = [_sum_counts(self.counts)]
            return
        self.distinct.add(present)
        if self.type == "numeric" and len(present):
            low, high = pc.min_max(present).values()
            self.low = low.as_py() if self.low is None else min(self.low, low.as_py())
            self.high = high.as_py() if self.high is None else max(self.high, high.as_py())
            self.count += len(present)
            self.total += pc.sum(present).as_py()

    def summary(self) -> dict[str, Any]:
        distinct = self.distinct.values()
        info: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "missing_share": number(self.missing / self.rows) if self.rows else 0.0,
            "distinct": DISTINCT_CAP if distinct is None else len(distinct),
        }
        if distinct is None:
            info["distinct_is_lower_bound"] = True
        if self.type == "numeric":
            info |= {
                "min": number(self.low),
                "max": number(self.high),
                "mean": number(self.total / self.count) if self.count else None,
            }
        elif self.type == "text":
            info["mean_length"] = number(self.length / self.count) if self.count else None
        elif self.type == "categorical":
            counts = _sum_counts(self.counts) if self.counts else None
            top = [] if counts is None else _top(counts, TOP_VALUES)
            info["top_values"] = [{"value": str(v), "count": int(n)} for v, n in top]
            if self.counts_capped:
                info["top_values_approximate"] = True
        return info


def _sum_counts(tables: list[pa.Table]) -> pa.Table:
    grouped = pa.concat_tables(tables).group_by("value", use_threads=False)
    return grouped.aggregate([("count", "sum")]).rename_columns(["value", "count"])


def _top(counts: pa.Table, limit: int) -> list[tuple[object, int]]:
    """The most frequent values; ties in the order the values first appear."""
    values, numbers = counts["value"].to_pylist(), counts["count"].to_numpy()
    order = np.argsort(-numbers, kind="stable")[:limit]
    return [(values[i], int(numbers[i])) for i in order]


class CardBuilder:
    """Feed standardized train and test batches, then :meth:`card` the labels."""

    def __init__(self, kind: str, columns: Iterable[tuple[str, str]]) -> None:
        self.kind = kind
        self.columns = [_Column(name, column_type) for name, column_type in columns]
        self.rows = {"train": 0, "test": 0}
        self.examples: list[dict[str, Any]] = []

    def add(self, part: str, batch: pa.RecordBatch) -> None:
        self.rows[part] += batch.num_rows
        for column in self.columns:
            column.add(batch.column(column.name))
        if part == "train" and len(self.examples) < EXAMPLE_ROWS:
            head = batch.slice(0, EXAMPLE_ROWS - len(self.examples)).to_pylist()
            self.examples += [{k: _example(v) for k, v in row.items()} for row in head]

    def settle(self, types: dict[str, str]) -> None:
        """Name the type of each column added as :data:`STRING` (text or categorical)."""
        for column in self.columns:
            if column.type == STRING:
                column.type = types[column.name]

    def card(self, train_labels: pa.Array) -> dict[str, Any]:
        card: dict[str, Any] = {
            "rows": dict(self.rows),
            "columns": [column.summary() for column in self.columns],
        }
        card.update(kind_get(self.kind).card_labels(train_labels))
        card["examples"] = self.examples
        # The examples' column order, as the table has it: a database may give a stored
        # object's keys back in another order (PostgreSQL's jsonb: by length, then name).
        card["example_columns"] = list(self.examples[0]) if self.examples else []
        return card


def build_card(
    *, kind: str, columns: Iterable[tuple[str, str]], train: pd.DataFrame, test: pd.DataFrame
) -> dict[str, Any]:
    """Rows per file, per-column statistics, class balance and example rows (from frames)."""
    builder = CardBuilder(kind, columns)
    for part, frame in (("train", train), ("test", test)):
        for batch in pa.Table.from_pandas(frame, preserve_index=False).to_batches():
            builder.add(part, batch)
    labels = pa.Table.from_pandas(train[["label"]], preserve_index=False)["label"]
    return builder.card(labels.combine_chunks())


def _example(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value if len(value) <= EXAMPLE_CHARS else value[: EXAMPLE_CHARS - 1] + "…"
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
