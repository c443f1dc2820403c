"""Helpers of test_output.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def dictionary_bomb(path: Path, rows: int = 3072) -> None:
    """A few KB of Parquet whose ``id`` column decodes to ``rows`` MiB (3 GiB by default):
    one 1 MiB string in the dictionary page, every row pointing at it."""
    ids = pa.DictionaryArray.from_arrays(
        pa.array([0] * rows, pa.int32()), pa.array(["x" * (1 << 20)])
    )
    table = pa.table({"id": ids, "label": pa.array(["a"] * rows)})
    pq.write_table(table, path, compression="zstd")


