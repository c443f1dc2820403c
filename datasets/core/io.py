"""The standardized table format: its dtypes, conversion to it, writing it and reading it back.

``id``, text, categorical and image columns are pandas ``string`` (missing = NA), numeric
columns ``float64``, the label ``string`` (classification) or ``int64`` 0/1 (matching). CSV
files write a missing value as an empty unquoted cell, and no text value is ever empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from datasets.core.images import normalize_path
from datasets.core.values import as_binary, as_numbers, as_text

Source = str | Path | IO[bytes]  # a path, or an open binary file (e.g. from Django storage)


def label_dtype(kind: str) -> str:
    """``int64`` for matching, ``string`` for classification."""
    return "int64" if kind == "matching" else "string"


def column_dtype(column_type: str) -> str:
    """``float64`` for numeric columns, ``string`` for the others."""
    return "float64" if column_type == "numeric" else "string"


def standard_dtypes(task_meta: Mapping[str, Any]) -> dict[str, str]:
    """Every column a standardized train, test or solution file may hold, with its dtype."""
    dtypes = {"id": "string"}
    dtypes.update({c["name"]: column_dtype(c["type"]) for c in task_meta["columns"]})
    dtypes["label"] = label_dtype(task_meta["kind"])
    return dtypes


def read_standard_csv(path: Source, task_meta: Mapping[str, Any]) -> pd.DataFrame:
    """Read a standardized CSV with the dtypes of ``task.json``: equal to its Parquet twin."""
    return pd.read_csv(
        path,
        dtype=standard_dtypes(task_meta),
        keep_default_na=False,
        na_values=[""],
        encoding="utf-8",
    )


def read_standard_parquet(path: Source, task_meta: Mapping[str, Any]) -> pd.DataFrame:
    """Read a standardized Parquet file, with the same dtypes as :func:`read_standard_csv`."""
    frame = pd.read_parquet(path)
    dtypes = standard_dtypes(task_meta)
    return frame.astype({c: dtypes[c] for c in frame.columns if c in dtypes})


def standard_frame(
    frame: pd.DataFrame, columns: Iterable[tuple[str, str]], kind: str, *, with_label: bool
) -> pd.DataFrame:
    """Convert a validated raw table to ``id, features..., [label]`` in the standard dtypes."""
    columns = list(columns)
    out: dict[str, pd.Series] = {"id": as_text(frame["id"])}
    for name, column_type in columns:
        if column_type == "numeric":
            out[name] = as_numbers(frame[name])[0]
        elif column_type == "image":
            out[name] = as_text(frame[name]).map(normalize_path, na_action="ignore")
        else:
            out[name] = as_text(frame[name])
    if with_label:
        out["label"] = standard_labels(frame["label"], kind)
    result = pd.DataFrame({k: v.reset_index(drop=True) for k, v in out.items()})
    return result.astype({k: v for k, v in _dtypes(columns, kind).items() if k in result})


def standard_labels(labels: pd.Series, kind: str) -> pd.Series:
    """Validated labels in their standard dtype."""
    if kind == "matching":
        return as_binary(labels)[0].astype("int64")
    return as_text(labels)


def _dtypes(columns: Iterable[tuple[str, str]], kind: str) -> dict[str, str]:
    meta = {"kind": kind, "columns": [{"name": n, "type": t} for n, t in columns]}
    return standard_dtypes(meta)


def write_standard(frame: pd.DataFrame, csv_path: Path, parquet_path: Path) -> None:
    """Write one table as CSV and as Parquet, no index.

    The CSV is UTF-8 with a header, every string quoted, a missing value as an empty unquoted
    cell and floats in their shortest round-tripping form (pyarrow's writer).
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pacsv.write_csv(table, csv_path)
    frame.to_parquet(parquet_path, index=False, engine="pyarrow")
