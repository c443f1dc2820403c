"""The dataset card: a JSON-serialisable summary of a standardized task's tables.

Column statistics cover train and test together; the class balance (grouping: the entity
statistics) covers train. The card is built while the standardized files are written, one
batch at a time (:class:`CardBuilder`): rows, missing shares, numeric min/max/mean and text
lengths are exact; ``distinct`` is exact up to ``DISTINCT_CAP`` values and otherwise a lower
bound flagged ``"distinct_is_lower_bound": true``; categorical top values are exact unless
flagged ``"top_values_approximate": true`` (more than ``DISTINCT_CAP`` values).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datasets.core.profile import Distinct

EXAMPLE_ROWS = 5
EXAMPLE_CHARS = 80
TOP_VALUES = 10
DISTINCT_CAP = 100_000
SIZE_BUCKETS = (1, 2, 3, 4, 5, 10)  # records per entity: 1, 2, 3, 4, 5-9, 10+


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
        self.distinct.add(present)
        if self.type == "numeric" and len(present):
            low, high = pc.min_max(present).values()
            self.low = low.as_py() if self.low is None else min(self.low, low.as_py())
            self.high = high.as_py() if self.high is None else max(self.high, high.as_py())
            self.count += len(present)
            self.total += pc.sum(present).as_py()
        elif self.type == "text":
            self.count += len(present)
            self.length += pc.sum(pc.utf8_length(present)).as_py() or 0
        elif self.type == "categorical" and not self.counts_capped:
            if self.distinct.overflow:
                self.counts_capped = True
                return
            pairs = pc.value_counts(present).flatten()
            self.counts.append(pa.table({"value": pairs[0], "count": pairs[1]}))
            if len(self.counts) > 16:
                self.counts = [_sum_counts(self.counts)]

    def summary(self) -> dict[str, Any]:
        distinct = self.distinct.values()
        info: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "missing_share": _number(self.missing / self.rows) if self.rows else 0.0,
            "distinct": DISTINCT_CAP if distinct is None else len(distinct),
        }
        if distinct is None:
            info["distinct_is_lower_bound"] = True
        if self.type == "numeric":
            info |= {
                "min": _number(self.low),
                "max": _number(self.high),
                "mean": _number(self.total / self.count) if self.count else None,
            }
        elif self.type == "text":
            info["mean_length"] = _number(self.length / self.count) if self.count else None
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

    def card(self, train_labels: pa.Array) -> dict[str, Any]:
        card: dict[str, Any] = {
            "rows": dict(self.rows),
            "columns": [column.summary() for column in self.columns],
        }
        if self.kind == "grouping":
            card["entities"] = entity_stats(train_labels)
        else:
            card["class_balance"] = _balance(train_labels)
        if self.kind == "matching":
            ones = pc.sum(pc.equal(train_labels, 1)).as_py() or 0
            card["positive_rate"] = _number(ones / len(train_labels)) if len(train_labels) else None
        card["examples"] = self.examples
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


def _balance(labels: pa.Array) -> list[dict[str, Any]]:
    pairs = pc.value_counts(labels.cast(pa.string())).flatten()
    counts = sorted(zip(pairs[0].to_pylist(), pairs[1].to_pylist(), strict=True))
    total = sum(n for _, n in counts)
    return [{"class": str(c), "count": int(n), "share": _number(n / total)} for c, n in counts]


def entity_stats(labels: pa.Array) -> dict[str, Any]:
    """Entities, records per entity (min, mean, median, max, histogram), singletons' share."""
    sizes = pc.value_counts(pc.drop_null(labels)).flatten()[1].to_numpy()
    if not len(sizes):
        return {"entities": 0, "records": 0}
    edges = [*SIZE_BUCKETS, math.inf]
    names = [
        f"{lo}" if hi == lo + 1 else (f"{lo}+" if hi == math.inf else f"{lo}-{hi - 1}")
        for lo, hi in itertools.pairwise(edges)
    ]
    histogram = [
        {"records": name, "entities": int(((sizes >= lo) & (sizes < hi)).sum())}
        for name, (lo, hi) in zip(names, itertools.pairwise(edges), strict=True)
    ]
    singletons = int((sizes == 1).sum())
    return {
        "entities": len(sizes),
        "records": int(sizes.sum()),
        "records_per_entity": {
            "min": int(sizes.min()),
            "mean": _number(sizes.mean()),
            "median": _number(np.median(sizes)),
            "max": int(sizes.max()),
            "histogram": histogram,
        },
        "singleton_share": _number(singletons / len(sizes)),
        "records_in_pairs_share": _number(1 - singletons / sizes.sum()),
    }


def _number(value: Any) -> float | None:
    """A plain float, or None for NaN / infinity / nothing (JSON has none of them)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _example(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value if len(value) <= EXAMPLE_CHARS else value[: EXAMPLE_CHARS - 1] + "…"
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
