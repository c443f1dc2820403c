"""An id column proven from its Parquet pages to hold the solution's ids in order is one
Arrow would decode to exactly those ids; anything else is not proven (Arrow then decodes
it, as before), on files as writers make them and on files damaged or forged byte by byte."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.refusals import SubmissionInvalid
from scoring.core import align_submission, bounds, read_submission_file
from scoring.core.idpages import ExpectedIds, proven_in_order
from scoring.core.pages import Unread, chunk_range, hybrid, page_header
from scoring.core.solution import Solution
from tests.support.parquet_bytes import flipped, parquet, varint


def numbered(n: int, template: str = "r{}") -> pa.Array:
    return pa.array([template.format(i) for i in range(n)])


def proven(buf: pa.Buffer, ids: pa.Array) -> bool:
    metadata = pq.ParquetFile(pa.BufferReader(buf)).metadata
    return proven_in_order(buf, metadata, ExpectedIds.of(ids))


def arrow_ids(buf: pa.Buffer) -> pa.Array:
    return pq.read_table(pa.BufferReader(buf), columns=["id"])["id"].combine_chunks()


def predictions(ids: pa.Array, **schema) -> pa.Table:
    labels = pa.array(["cat", "dog", "bird"]).take(np.arange(len(ids)) % 3)
    table = pa.table({"id": ids, "label": labels})
    if schema.get("required"):
        fields = [pa.field("id", ids.type, nullable=False), pa.field("label", pa.string())]
        table = pa.table({"id": ids, "label": labels}, schema=pa.schema(fields))
    return table


IDS = {
    "counted": numbered(30_000),
    "padded": numbered(30_000, "r{:07d}"),
    "uuids": pa.array([f"{i:08x}-7e57-4a1d-9c2b-{i * 7919:012x}" for i in range(5_000)]),
    "free strings": pa.array([f"{'x' * (i % 13)}é{i}😀" for i in range(8_000)]),
    "one long id": pa.array(["v" * 70_000] + [f"s{i}" for i in range(99)]),
    "empty ids": pa.array(["", *(f"e{i}" for i in range(999))]),
}
WRITERS = {
    "pyarrow's defaults": {},
    "no dictionary": {"use_dictionary": False},
    "dictionary falls back": {"dictionary_pagesize_limit": 4_000, "data_page_size": 2_000},
    "small pages": {"data_page_size": 512, "row_group_size": 7_000},
    "data page v2": {"data_page_version": "2.0", "data_page_size": 4_000},
    "v2 uncompressed": {"data_page_version": "2.0", "compression": "none"},
    "zstd": {"compression": "zstd", "row_group_size": 9_999},
    "gzip": {"compression": "gzip", "use_dictionary": False},
    "none": {"compression": "none"},
    "checksums": {"write_page_checksum": True},
    "no statistics": {"write_statistics": False},
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
@pytest.mark.parametrize("name", sorted(IDS))
def test_ids_written_in_order_are_proven(name, writer):
    ids = IDS[name]
    buf = parquet(predictions(ids), **WRITERS[writer])
    assert proven(buf, ids)
    assert arrow_ids(buf).equals(ids)  # what the proof stands for


@pytest.mark.parametrize("required", [False, True])
def test_a_required_column_and_large_strings_are_proven(required):
    ids = IDS["counted"]
    assert proven(parquet(predictions(ids, required=required)), ids)
    large = pa.table({"id": ids.cast(pa.large_string()), "label": ["a"] * len(ids)})
    assert proven(parquet(large), ids)
    assert proven(parquet(predictions(ids)), ids.cast(pa.large_string()))


def test_a_slice_of_ids_is_laid_out_from_its_own_offsets():
    ids = IDS["free strings"]
    part = ids.slice(1_234, 2_000)
    assert proven(parquet(predictions(part)), part)
    assert not proven(parquet(predictions(ids.slice(1_235, 2_000))), part)


@pytest.mark.parametrize(
    "change",
    [
        "shuffled",
        "two swapped",
        "one byte of one id",
        "one id longer",
        "a row missing",
        "a row more",
        "an id twice",
        "a null id",
        "binary ids",
        "integer ids",
    ],
)
@pytest.mark.parametrize("writer", ["pyarrow's defaults", "no dictionary", "small pages"])
def test_ids_not_exactly_the_solution_s_in_order_are_not_proven(change, writer):
    ids = IDS["counted"]
    values = ids.to_pylist()
    if change == "shuffled":
        values = [values[i] for i in np.random.default_rng(0).permutation(len(values))]
    elif change == "two swapped":
        values[10], values[11] = values[11], values[10]
    elif change == "one byte of one id":
        values[20_001] = values[20_001][:-1] + "x"
    elif change == "one id longer":
        values[-1] += "0"
    elif change == "a row missing":
        values = values[:-1]
    elif change == "a row more":
        values = [*values, "r30000"]
    elif change == "an id twice":
        values[5] = values[4]
    elif change == "a null id":
        values[7] = None
    column = pa.array(values)
    if change == "binary ids":
        column = column.cast(pa.binary())
    elif change == "integer ids":
        column = pa.array(np.arange(len(values)))
    buf = parquet(predictions(column), **WRITERS[writer])
    assert not proven(buf, ids)


def test_the_reader_proves_only_a_column_arrow_reads_as_text():
    # a categorical id column is proven page by page, but Arrow would read it as a
    # dictionary: the reader decodes it as before
    ids = IDS["counted"]
    categorical = parquet(predictions(ids.dictionary_encode()))
    assert proven(categorical, ids)
    read = read_submission_file(
        pa.BufferReader(categorical), test_rows=len(ids), expected_ids=ExpectedIds.of(ids)
    ).table
    assert pa.types.is_dictionary(read["id"].type)


def test_every_damaged_byte_of_the_id_column_gives_the_truth_or_no_proof():
    # Each byte of the id column's pages and headers flipped in turn (a dictionary page,
    # dictionary-coded pages, the fallback to PLAIN, two row groups): whenever the pages
    # are proven, Arrow decodes the damaged file's ids to exactly the solution's.
    ids = numbered(300)
    buf = parquet(
        predictions(ids),
        compression="none",
        dictionary_pagesize_limit=300,
        data_page_size=200,
        row_group_size=160,
    )
    expected = ExpectedIds.of(ids)
    metadata = pq.ParquetFile(pa.BufferReader(buf)).metadata
    told = tried = 0
    for position, flip, damaged_buf in flipped(buf, 0):
        tried += 1
        if not proven_in_order(damaged_buf, metadata, expected):
            continue
        told += 1
        assert arrow_ids(damaged_buf).equals(ids), (position, flip)
    # most flips break the proof; those in page statistics and unread header fields do not
    assert 0 < told < tried / 2


def test_a_damaged_id_column_reads_the_same_with_the_proof_as_without():
    # The reader's table or refusal for each byte of the id column flipped: the same
    # whether the pages were proven, not proven, or never looked at
    ids = numbered(120)
    buf = parquet(predictions(ids), compression="none", data_page_size=150, row_group_size=70)
    expected = ExpectedIds.of(ids)

    def reading(damaged: pa.Buffer, given: ExpectedIds | None) -> list | str:
        try:
            table = read_submission_file(
                pa.BufferReader(damaged), test_rows=len(ids), expected_ids=given
            ).table
        except SubmissionInvalid as exc:
            return exc.message
        return [table[name].cast(pa.string()).to_pylist() for name in table.column_names]

    refused = 0
    for position, _, damaged_buf in flipped(buf, 0, flips=(0xFF,)):
        with_proof = reading(damaged_buf, expected)
        refused += isinstance(with_proof, str)
        assert with_proof == reading(damaged_buf, None), position
    assert refused  # the damage is seen


@pytest.mark.parametrize("codec", ["snappy", "zstd"])
def test_damaged_compressed_pages_give_the_truth_or_no_proof(codec):
    ids = numbered(2_000)
    buf = parquet(predictions(ids), compression=codec, data_page_size=1_000)
    expected = ExpectedIds.of(ids)
    metadata = pq.ParquetFile(pa.BufferReader(buf)).metadata
    start, end = chunk_range(metadata.row_group(0).column(0), buf.size)
    data = bytearray(buf.to_pybytes())
    rng = np.random.default_rng(1)
    for position in rng.integers(start, end, 600):
        damaged = bytearray(data)
        damaged[position] ^= int(rng.integers(1, 256))
        damaged_buf = pa.py_buffer(bytes(damaged))
        if proven_in_order(damaged_buf, metadata, expected):
            assert arrow_ids(damaged_buf).equals(ids), position


def test_a_file_cut_inside_its_id_column_is_not_proven():
    ids = numbered(3_000)
    buf = parquet(predictions(ids), data_page_size=2_000)
    metadata = pq.ParquetFile(pa.BufferReader(buf)).metadata
    _, chunk_end = chunk_range(metadata.row_group(0).column(0), buf.size)
    expected = ExpectedIds.of(ids)
    for end in range(0, chunk_end, 31):
        assert not proven_in_order(buf.slice(0, end), metadata, expected)


def test_forged_headers_are_not_proven_and_allocate_nothing():
    ids = numbered(100)
    buf = parquet(predictions(ids), compression="none", use_dictionary=False)
    metadata = pq.ParquetFile(pa.BufferReader(buf)).metadata
    at = metadata.row_group(0).column(0).data_page_offset
    expected = ExpectedIds.of(ids)
    forgeries = {
        # type 0, sizes of 2 GiB: nothing allocated for them
        "huge sizes": bytes([0x15, 0x00, 0x15])
        + varint(4 * 2**30)
        + bytes([0x15])
        + varint(4 * 2**30),
        "negative size": bytes([0x15, 0x00, 0x15, 0x01, 0x15, 0x01]),
        "structs nested past the limit": bytes([0x1C] * 64),
        "a varint that never ends": bytes([0x15]) + bytes([0xFF] * 64),
        "a binary field longer than the file": bytes([0x48]) + varint(2**40),
        "an index page": bytes([0x15, 0x02, 0x15, 0x00, 0x15, 0x00, 0x00]),
    }
    for name, forged in forgeries.items():
        data = bytearray(buf.to_pybytes())
        data[at : at + len(forged)] = forged
        assert not proven_in_order(pa.py_buffer(bytes(data)), metadata, expected), name


def test_the_hybrid_runs_refuse_what_they_cannot_read():
    packed = np.array([0x03, 0b10001000, 0b11000110, 0b11111010], dtype=np.uint8)
    assert hybrid(packed, 3, 8).tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert hybrid(np.array([0x08, 0x05], dtype=np.uint8), 3, 4).tolist() == [5, 5, 5, 5]
    for data, width, count in [
        ([0x03, 0x00], 3, 8),  # a bit-packed run longer than the bytes
        ([0x08], 3, 4),  # a repeated run without its value
        ([0x08, 0x09], 3, 4),  # a value wider than the width
        ([0x00, 0x01], 3, 1),  # a run of no values
        ([0x08, 0x05], 33, 1),  # a width past 32
        ([0x80] * 8, 1, 1),  # a varint that never ends
    ]:
        with pytest.raises(Unread):
            hybrid(np.array(data, dtype=np.uint8), width, count)


def test_a_page_header_is_read_with_its_unknown_fields_skipped():
    buf = parquet(predictions(numbered(50)), compression="none", use_dictionary=False)
    metadata = pq.ParquetFile(pa.BufferReader(buf)).metadata
    at = metadata.row_group(0).column(0).data_page_offset
    header = page_header(memoryview(buf), at, buf.size)
    assert (header.type, header.values, header.encoding) == (0, 50, 0)
    assert header.compressed == header.uncompressed > 50 * 4


def test_header_bytes_from_0x80_on_are_read_as_thrift_reads_them():
    # An Arrow buffer's memoryview holds signed chars: read as such, a field header byte of
    # 0x80 or more (a field 8 or more past the one before) gave a negative delta, so fields
    # Thrift numbers 18, 33 and 37 (unknown, skipped) were read as 2, 1 and 5: a page whose
    # data page header Arrow never sees.
    sizes = bytes([0x15, 0x00, 0x15, 0x0A, 0x15, 0x0A])  # fields 1-3: type 0, sizes 5, 5
    data_page = bytes([0x15, 0x0A, 0x15, 0x00, 0x15, 0x06, 0x15, 0x06, 0x00])  # 5 values
    unknown = bytes([0xF5, 0x0A, 0xF5, 0x00, 0x4C]) + data_page + b"\x00"
    buf = pa.py_buffer(sizes + unknown + b"\x00" * 16)
    with pytest.raises(Unread):  # no data page header: Thrift (and Arrow) refuse it
        page_header(memoryview(buf), 0, buf.size)
    # the same struct numbered 5 as Thrift reads it is the page's data page header
    read = page_header(memoryview(pa.py_buffer(sizes + b"\x2c" + data_page + b"\x00")), 0, 64)
    assert (read.type, read.values, read.compressed, read.encoding) == (0, 5, 5, 0)


def test_the_layout_is_each_length_then_each_id():
    small = pa.array(["a", "", "héllo", "r123"])
    assert bytes(ExpectedIds.of(small).layout) == (
        b"\x01\x00\x00\x00a"
        + b"\x00" * 4
        + b"\x06\x00\x00\x00h\xc3\xa9llo"
        + b"\x04\x00\x00\x00r123"
    )
    # ids whose length changes at every row are joined by Arrow: the same layout
    changing = pa.array(["a" * (i % 7) + str(i) for i in range(30_000)])
    reference = b"".join(
        len(v.encode()).to_bytes(4, "little") + v.encode() for v in changing.to_pylist()
    )
    assert bytes(ExpectedIds.of(changing).layout) == reference
    assert ExpectedIds.of(pa.array(["a", None])) is None
    assert ExpectedIds.of(pa.array([1, 2])) is None


def test_the_reader_gives_the_solution_s_array_for_proven_ids_and_decodes_the_rest():
    ids = IDS["counted"]
    solution = Solution(
        ids=ids,
        y=np.arange(len(ids)) % 3,
        is_public=np.arange(len(ids)) % 2 == 0,
        classes=["bird", "cat", "dog"],
        kind="classification",
    )
    expected = ExpectedIds.of(ids)
    buf = parquet(predictions(ids))
    read = read_submission_file(
        pa.BufferReader(buf), test_rows=len(ids), expected_ids=expected
    ).table
    plain = read_submission_file(pa.BufferReader(buf), test_rows=len(ids)).table
    assert read["id"].chunk(0).buffers()[2].address == ids.buffers()[2].address
    assert read.column_names == plain.column_names
    assert read["id"].equals(plain["id"]) and read["label"].equals(plain["label"])
    fast, slow = align_submission(read, solution), align_submission(plain, solution)
    assert np.array_equal(fast.pred, slow.pred)
    # a shuffled file is decoded and placed as before
    order = np.random.default_rng(0).permutation(len(ids))
    shuffled = parquet(predictions(ids).take(order))
    read = read_submission_file(
        pa.BufferReader(shuffled), test_rows=len(ids), expected_ids=expected
    ).table
    assert read["id"].chunk(0).buffers()[2].address != ids.buffers()[2].address
    placed = align_submission(read, solution)
    assert np.array_equal(placed.pred, slow.pred)
    # and a file with an id wrong is refused in the alignment's words
    wrong = ids.to_pylist()
    wrong[3] = "nope"
    with pytest.raises(SubmissionInvalid, match="not in the test set"):
        align_submission(
            read_submission_file(
                pa.BufferReader(parquet(predictions(pa.array(wrong)))),
                test_rows=len(ids),
                expected_ids=expected,
            ).table,
            solution,
        )


def test_proven_ids_count_toward_the_decoded_limit(monkeypatch):
    # the proven column is not decoded, but the memory bound still counts what decoding it
    # would have taken: the same files are refused as before
    ids = IDS["uuids"]
    expected = ExpectedIds.of(ids)
    seen = []
    real = bounds.refuse_expanded
    monkeypatch.setattr(
        bounds,
        "refuse_expanded",
        lambda table, decoded, limit: (seen.append(decoded), real(table, decoded, limit)),
    )
    read_submission_file(
        pa.BufferReader(parquet(predictions(ids))), test_rows=len(ids), expected_ids=expected
    )
    assert seen and seen[0] >= expected.decoded_bytes == 36 * len(ids) + 4 * (len(ids) + 1)


@pytest.mark.parametrize("width", [1, 2, 7, 8, 9, 17, 24, 31, 32])
def test_bit_packed_runs_of_every_width_unpack_to_their_values(width):
    rng = np.random.default_rng(width)
    values = rng.integers(0, 2**width, 8 * 37, dtype=np.int64)
    bits = ((values[:, None] >> np.arange(width)) & 1).astype(np.uint8)
    packed = np.packbits(bits.ravel(), bitorder="little")
    header = varint((len(values) // 8) << 1 | 1)
    data = np.frombuffer(header + packed.tobytes(), dtype=np.uint8)
    assert hybrid(data, width, len(values) - 5).tolist() == values[:-5].tolist()
