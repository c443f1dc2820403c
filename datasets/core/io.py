"""The standardized table format: its dtypes, conversion to it, writing it and reading it back.

``id``, text, categorical and image columns are pandas ``string`` (missing = NA), numeric
columns ``float64``, the label as its kind says (``TaskKind.label_dtype``: ``string`` for
classes and entities, ``int64`` 0/1 for matching). CSV files write a missing value as an
empty unquoted cell, and no text value is ever empty.
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pyarrow as pa

from kinds import kind_get

if TYPE_CHECKING:
    import pandas as pd

Source = str | Path | IO[bytes]  # a path, or an open binary file (e.g. from Django storage)


def label_dtype(kind: str) -> str:
    """The pandas dtype of the kind's standardized label (``TaskKind.label_dtype``)."""
    return kind_get(kind).label_dtype


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
    import pandas as pd  # here: processes that read no frame (scoring) never import pandas

    return pd.read_csv(
        path,
        dtype=standard_dtypes(task_meta),
        keep_default_na=False,
        na_values=[""],
        encoding="utf-8",
    )


def read_standard_parquet(path: Source, task_meta: Mapping[str, Any]) -> pd.DataFrame:
    """Read a standardized Parquet file, with the same dtypes as :func:`read_standard_csv`."""
    import pandas as pd

    frame = pd.read_parquet(path)
    dtypes = standard_dtypes(task_meta)
    return frame.astype({c: dtypes[c] for c in frame.columns if c in dtypes})


# The standard dtypes as Arrow types and as pandas names them in a Parquet file's ``pandas``
# metadata (what ``pa.Schema.from_pandas`` writes for an empty frame of that dtype).
_ARROW_OF_DTYPE: dict[str, tuple[pa.DataType, str, str]] = {
    "string": (pa.string(), "unicode", "string"),
    "float64": (pa.float64(), "float64", "float64"),
    "int64": (pa.int64(), "int64", "int64"),
}


def arrow_type(dtype: str) -> pa.DataType:
    """The Arrow type of a standard dtype (``string``, ``float64``, ``int64``)."""
    return _ARROW_OF_DTYPE[dtype][0]


def standard_schema(
    kind: str,
    columns: Iterable[tuple[str, str]],
    *,
    with_label: bool,
    extra: Iterable[str] = (),
) -> pa.Schema:
    """The Arrow schema of a standardized train (``with_label``) or test file.

    It carries pandas metadata, so ``pandas.read_parquet`` gives the dtypes of
    :func:`standard_dtypes` (``string`` rather than ``object``). ``extra`` names further
    text columns (the solution's ``split`` and OPIS group column). The metadata is the one
    ``pa.Schema.from_pandas`` writes for an empty frame of these dtypes, written here
    without importing pandas (0.3-0.7 s of the import command, which reads no frame).
    """
    columns = list(columns)
    meta = {"kind": kind, "columns": [{"name": n, "type": t} for n, t in columns]}
    dtypes = standard_dtypes(meta)
    if not with_label:
        dtypes.pop("label")
    dtypes.update(dict.fromkeys(extra, "string"))
    fields, described = [], []
    for name, dtype in dtypes.items():
        arrow_type, pandas_type, numpy_type = _ARROW_OF_DTYPE[dtype]
        fields.append(pa.field(name, arrow_type))
        described.append(
            {
                "name": name,
                "field_name": name,
                "pandas_type": pandas_type,
                "numpy_type": numpy_type,
                "metadata": None,
            }
        )
    pandas_meta = {
        "index_columns": [],
        "column_indexes": [],
        "columns": described,
        "attributes": {},
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": importlib.metadata.version("pandas"),
    }
    return pa.schema(fields, metadata={b"pandas": json.dumps(pandas_meta).encode()})
