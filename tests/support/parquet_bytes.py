"""Parquet files in memory and Thrift varints, for the tests that read or forge pages."""

from __future__ import annotations

import io
from collections.abc import Iterator

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


def flipped(
    buf: pa.Buffer, column: int, flips: tuple[int, ...] = (0x01, 0x80, 0xFF)
) -> Iterator[tuple[int, int, pa.Buffer]]:
    """``(position, flip, damaged file)`` for each byte of ``column``'s chunks in the first
    two row groups (their pages and headers), XORed with each of ``flips`` in turn."""
    from scoring.core.pages import chunk_range

    metadata = pq.ParquetFile(pa.BufferReader(buf)).metadata
    start, _ = chunk_range(metadata.row_group(0).column(column), buf.size)
    _, end = chunk_range(metadata.row_group(1).column(column), buf.size)
    data = bytes(buf.to_pybytes())
    for position in range(start, end):
        for flip in flips:
            damaged = bytearray(data)
            damaged[position] ^= flip
            yield position, flip, pa.py_buffer(bytes(damaged))
