"""The standardized files' Arrow schema (``datasets.core.io.standard_schema``) is written
without pandas, and must stay the one ``pa.Schema.from_pandas`` gives for an empty frame of
the standard dtypes: its ``pandas`` metadata is what makes ``pandas.read_parquet`` read the
text columns as ``string`` (not ``object``), for every kind, column type and extra column."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datasets.core.io import standard_dtypes, standard_schema
from kinds import kind_get, kind_names

COLUMNS = [("title", "text"), ("price", "numeric"), ("brand", "categorical"), ("photo", "image")]
LABELS = {"string": ["a"], "float64": [1.5], "int64": [1]}  # one value of each label dtype


def dtypes_of(kind: str) -> dict[str, str]:
    return standard_dtypes({"kind": kind, "columns": [{"name": n, "type": t} for n, t in COLUMNS]})


@pytest.mark.parametrize("kind", kind_names())
@pytest.mark.parametrize("with_label", [True, False])
@pytest.mark.parametrize("extra", [(), ("split", "region")])
def test_the_schema_is_the_one_pandas_writes(kind, with_label, extra):
    ours = standard_schema(kind, COLUMNS, with_label=with_label, extra=extra)

    dtypes = dtypes_of(kind)
    if not with_label:
        dtypes.pop("label")
    dtypes.update(dict.fromkeys(extra, "string"))
    empty = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in dtypes.items()})
    theirs = pa.Schema.from_pandas(empty, preserve_index=False)

    assert ours.equals(theirs, check_metadata=True), (ours, theirs)


@pytest.mark.parametrize("kind", kind_names())
def test_a_file_of_that_schema_reads_back_in_the_standard_dtypes(tmp_path, kind):
    schema = standard_schema(kind, COLUMNS, with_label=True)
    table = pa.table(
        {"id": ["r1"], "title": ["a hat"], "price": [2.0], "brand": ["x"], "photo": ["p.png"],
         "label": LABELS[kind_get(kind).label_dtype]},
        schema=schema,
    )  # fmt: skip
    path = tmp_path / "train.parquet"
    pq.write_table(table, path)
    frame = pd.read_parquet(path)
    assert {c: str(t) for c, t in frame.dtypes.items()} == dtypes_of(kind)
