"""The dataset card: a JSON-serialisable summary of a standardized task's tables.

Column statistics cover train and test together; the class balance covers train.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

EXAMPLE_ROWS = 5
EXAMPLE_CHARS = 80
TOP_VALUES = 10


def build_card(
    *, kind: str, columns: Iterable[tuple[str, str]], train: pd.DataFrame, test: pd.DataFrame
) -> dict[str, Any]:
    """Rows per file, per-column statistics, class balance and example rows."""
    columns = list(columns)
    card: dict[str, Any] = {
        "rows": {"train": len(train), "test": len(test)},
        "columns": [
            _column(name, kind_, pd.concat([train[name], test[name]], ignore_index=True))
            for name, kind_ in columns
        ],
        "class_balance": _balance(train["label"]),
    }
    if kind == "matching":
        card["positive_rate"] = _number(train["label"].eq(1).mean()) if len(train) else None
    card["examples"] = [
        {key: _example(value) for key, value in row.items()}
        for row in train.head(EXAMPLE_ROWS).to_dict(orient="records")
    ]
    return card


def _column(name: str, column_type: str, values: pd.Series) -> dict[str, Any]:
    present = values.dropna()
    info: dict[str, Any] = {
        "name": name,
        "type": column_type,
        "missing_share": _number(values.isna().mean()) if len(values) else 0.0,
        "distinct": int(present.nunique()),
    }
    if column_type == "numeric":
        info |= {k: _number(getattr(present, k)()) for k in ("min", "max", "mean")}
    elif column_type == "text":
        info["mean_length"] = _number(present.str.len().mean())
    elif column_type == "categorical":
        counts = present.value_counts().head(TOP_VALUES)
        info["top_values"] = [{"value": str(v), "count": int(n)} for v, n in counts.items()]
    return info


def _balance(labels: pd.Series) -> list[dict[str, Any]]:
    counts = labels.astype("string").value_counts().sort_index()
    total = int(counts.sum())
    return [
        {"class": str(c), "count": int(n), "share": _number(n / total)} for c, n in counts.items()
    ]


def _number(value: Any) -> float | None:
    """A plain float, or None for NaN / infinity (JSON has neither)."""
    number = float(value)
    return number if math.isfinite(number) else None


def _example(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value if len(value) <= EXAMPLE_CHARS else value[: EXAMPLE_CHARS - 1] + "…"
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
