"""The longest value of a Parquet dictionary page, read from the page's own bytes, is the
dictionary's true longest value or no answer (then Arrow is asked): never an estimate, on
files as writers make them and on files damaged or forged byte by byte."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from scoring.core import bounds
from scoring.core.dictpage import longest_dictionary_value
from tests.support.parquet_bytes import parquet, varint


def arrow_longest(buf: pa.Buffer, group: int, name: str) -> int | None:
    """What Arrow reads as the chunk's dictionary (the reader's answer before this module)."""
    reader = pq.ParquetFile(pa.BufferReader(buf), read_dictionary=[name])
    batch = next(reader.iter_batches(batch_size=1, row_groups=[group], columns=[name]))
    return int(pc.max(pc.binary_length(batch.column(0).dictionary)).as_py() or 0)


def chunks(buf: pa.Buffer):
    metadata = pq.ParquetFile(pa.BufferReader(buf)).metadata
    for group in range(metadata.num_row_groups):
        for index in range(metadata.num_columns):
            chunk = metadata.row_group(group).column(index)
            if chunk.has_dictionary_page and chunk.physical_type == "BYTE_ARRAY":
                yield group, chunk.path_in_schema, chunk


def ids(n: int, template: str = "r{}") -> list[str]:
    return [template.format(i) for i in range(n)]


TABLES = {
    "counted ids": pa.table({"id": ids(50_000), "label": ["cat", "dog"] * 25_000}),
    "padded ids": pa.table({"id": ids(20_000, "r{:07d}"), "label": ["a"] * 20_000}),
    "uuids": pa.table({"id": [f"{i:032x}" for i in range(5_000)], "label": ["x"] * 5_000}),
    "unicode": pa.table({"id": ids(3_000, "é{}😀"), "label": ["chat", "ñ"] * 1_500}),
    "values of 300 to 20,000 bytes": pa.table(
        {"id": [("v" * (300 + 37 * i)) + str(i) for i in range(500)], "label": ["a"] * 500}
    ),
}


@pytest.mark.parametrize("compression", ["snappy", "zstd", "gzip", "none"])
@pytest.mark.parametrize("name", sorted(TABLES))
def test_the_page_read_gives_arrow_s_longest_value(name, compression):
    buf = parquet(TABLES[name], compression=compression, row_group_size=7_000)
    answered = 0
    for group, column, chunk in chunks(buf):
        found = longest_dictionary_value(buf, chunk)
        assert found == arrow_longest(buf, group, column), (group, column)
        answered += 1
    assert answered >= 2


@pytest.mark.parametrize(
    "values",
    [
        ["x" * 70_000, "y"],  # a length of 64 KiB or more
        ["a\x00\x00b", "c"],  # a zero pair inside a value
        ["", "a", "", "bb"],  # empty values: three zero bytes and more in a row
        # as many candidates as values, but not the chain: a long value's length is not
        # one, a zero pair inside the other is
        ["x" * 70_000, "a\x00\x00b"],
        ["ab\x00\x00", "x" * 70_000],
    ],
    ids=["long", "zeros", "empty", "long-and-zeros", "zeros-and-long"],
)
def test_what_the_page_read_cannot_tell_is_left_to_arrow(values):
    buf = parquet(pa.table({"id": values * 3, "label": ["a"] * (3 * len(values))}))
    (group, column, chunk), *_ = chunks(buf)
    assert longest_dictionary_value(buf, chunk) in (None, arrow_longest(buf, group, column))
    # and the reader's batches are sized by the true longest value either way
    metadata = pq.ParquetFile(pa.BufferReader(buf)).metadata
    rows = bounds.parquet_batch_rows(buf, metadata, ["id"], [group])
    assert rows == min(bounds.MAX_BATCH_ROWS, bounds.BATCH_BYTES // max(map(len, values)))


def test_a_page_of_other_encodings_or_codecs_is_left_to_arrow():
    table = TABLES["counted ids"]
    for options in ({"compression": "brotli"}, {"compression": "lz4"}):
        buf = parquet(table, **options)
        assert all(longest_dictionary_value(buf, chunk) is None for _, _, chunk in chunks(buf))
    plain = parquet(table, use_dictionary=False)
    assert list(chunks(plain)) == []


def test_every_damaged_byte_of_the_page_gives_the_truth_or_no_answer():
    # Each byte of the first dictionary page and its header flipped in turn: the answer is
    # the longest value Arrow reads from the damaged file, or None; never an exception.
    table = pa.table({"id": ["ab", "cde", "f" * 300, "gh"] * 4, "label": ["a"] * 16})
    buf = parquet(table, compression="none")
    (group, column, chunk), *_ = chunks(buf)
    start, end = chunk.dictionary_page_offset, chunk.data_page_offset
    data = bytearray(buf.to_pybytes())
    told = 0
    for position in range(start, end):
        for flip in (0x01, 0x80, 0xFF):
            damaged = bytearray(data)
            damaged[position] ^= flip
            damaged_buf = pa.py_buffer(bytes(damaged))
            found = longest_dictionary_value(damaged_buf, chunk)
            if found is None:
                continue
            told += 1
            try:
                truth = arrow_longest(damaged_buf, group, column)
            except (pa.ArrowException, OSError):
                continue  # Arrow cannot read the file: the real decoding refuses it
            assert found == truth, (position, flip)
    assert told > 0


def test_a_header_claiming_a_huge_page_is_left_to_arrow():
    buf = parquet(pa.table({"id": ids(100), "label": ["a"] * 100}), compression="none")
    (_, _, chunk), *_ = chunks(buf)
    data = bytearray(buf.to_pybytes())
    start = chunk.dictionary_page_offset
    # field 2 (uncompressed size) and 3 (compressed size) follow the type: rewrite the
    # header as type 2, sizes of 2**30, then the rest cut: nothing is allocated for it
    forged = bytes([0x15, 0x04, 0x15]) + varint(2 * 2**30) + bytes([0x15]) + varint(2 * 2**30)
    data[start : start + len(forged)] = forged
    assert longest_dictionary_value(pa.py_buffer(bytes(data)), chunk) is None


def test_a_file_cut_inside_the_page_is_left_to_arrow():
    buf = parquet(pa.table({"id": ids(5_000), "label": ["a"] * 5_000}), compression="none")
    (_, _, chunk), *_ = chunks(buf)
    for end in (chunk.dictionary_page_offset + 3, chunk.dictionary_page_offset + 40):
        assert longest_dictionary_value(buf.slice(0, end), chunk) is None


def test_the_batches_of_a_file_of_distinct_ids_are_the_largest(tmp_path):
    # what a run's predictions look like: a dictionary page of ids per row group, each read
    # from its bytes; one batch per row group
    n = 300_000
    buf = parquet(
        pa.table({"id": np.char.add("r", np.arange(n).astype(str)), "label": ["a"] * n}),
        row_group_size=100_000,
    )
    metadata = pq.ParquetFile(pa.BufferReader(buf)).metadata
    for group, _, chunk in chunks(buf):
        assert longest_dictionary_value(buf, chunk) is not None, group
    rows = bounds.parquet_batch_rows(buf, metadata, ["id", "label"], [0, 1, 2])
    assert rows == bounds.MAX_BATCH_ROWS
