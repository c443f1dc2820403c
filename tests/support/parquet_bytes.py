"""Parquet files in memory and Thrift varints, for the tests that read or forge pages."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq


def parquet(table: pa.Table, **options) -> pa.Buffer:
    """``table`` written by pyarrow with ``options``, as a buffer."""
    out = io.BytesIO()
    pq.write_table(table, out, **options)
    return pa.py_buffer(out.getvalue())


def varint(value: int) -> bytes:
    """``value`` as an unsigned LEB128 varint (Thrift's compact protocol)."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
