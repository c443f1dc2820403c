"""A label column decoded from its Parquet pages holds what Arrow decodes, and a file is
never read two ways: whatever the pages are (as writers make them, or damaged, cut or
forged byte by byte), the reader gives the same table or the same refusal as it does when
Arrow decodes the column."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.refusals import SubmissionInvalid
from scoring.core import bounds, labelpages, read_submission_file
from scoring.core.pages import chunk_range
from tests.support.parquet_bytes import flipped, parquet

CLASSES = ["bird", "cat", "dog"]


def labels_table(labels: pa.Array, schema: pa.Schema | None = None) -> pa.Table:
    ids = pa.array([f"r{i}" for i in range(len(labels))])
    return pa.table({"id": ids, "label": labels}, schema=schema)


def decoded(buf: pa.Buffer) -> pa.ChunkedArray | None:
    metadata = pq.ParquetFile(pa.BufferReader(buf)).metadata
    found = labelpages.decoding(buf, metadata)
    return None if found is None else found.column([call() for call in found.calls])


def arrow_labels(buf: pa.Buffer) -> pa.ChunkedArray:
    return pq.read_table(pa.BufferReader(buf), columns=["label"])["label"]


def as_text(column: pa.ChunkedArray) -> list[str | None]:
    return column.cast(pa.string()).to_pylist()


def read(buf: pa.Buffer) -> pa.Table | str:
    """The reader's table, or its refusal's words."""
    try:
        return read_submission_file(pa.BufferReader(buf), test_rows=10_000).table
    except SubmissionInvalid as exc:
        return exc.message


def read_by_arrow(buf: pa.Buffer, monkeypatch: pytest.MonkeyPatch) -> pa.Table | str:
    with monkeypatch.context() as patched:
        patched.setattr(labelpages, "decoding", lambda *args: None)
        return read(buf)


def same_reading(ours: pa.Table | str, arrows: pa.Table | str) -> bool:
    if isinstance(ours, str) or isinstance(arrows, str):
        return ours == arrows
    return ours.column_names == arrows.column_names and all(
        as_text(ours[name]) == as_text(arrows[name]) for name in ours.column_names
    )


rng = np.random.default_rng(7)
LABELS = {
    "one class": pa.array(["cat"] * 5_000),
    "three classes at random": pa.array(CLASSES).take(rng.integers(0, 3, 5_000)),
    "runs of classes": pa.array(CLASSES).take(np.repeat(rng.integers(0, 3, 50), 100)),
    "127 labels": pa.array([f"c{i % 127}" for i in range(5_000)]),
    "empty and odd text": pa.array(["", "é😀", "a\x00b", "x" * 300] * 1_250),
}
WRITERS = {
    "pyarrow's defaults": {},
    "small pages and groups": {"data_page_size": 300, "row_group_size": 1_700},
    "data page v2": {"data_page_version": "2.0", "data_page_size": 500},
    "v2 uncompressed": {"data_page_version": "2.0", "compression": "none"},
    "zstd": {"compression": "zstd"},
    "gzip": {"compression": "gzip", "row_group_size": 999},
    "none": {"compression": "none"},
    "checksums": {"write_page_checksum": True},
    "no statistics": {"write_statistics": False},
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
@pytest.mark.parametrize("name", sorted(LABELS))
def test_labels_as_writers_write_them_are_decoded_to_what_arrow_reads(name, writer):
    buf = parquet(labels_table(LABELS[name]), **WRITERS[writer])
    found = decoded(buf)
    assert found is not None
    assert found.type == pa.dictionary(pa.int8(), pa.string())
    assert as_text(found) == as_text(arrow_labels(buf)) == LABELS[name].to_pylist()


def test_a_required_column_and_a_pandas_categorical_are_decoded():
    labels = LABELS["three classes at random"]
    required = pa.schema([pa.field("id", pa.string()), pa.field("label", pa.string(), False)])
    categorical = labels_table(labels.dictionary_encode())
    for buf in (parquet(labels_table(labels, required)), parquet(categorical)):
        assert as_text(decoded(buf)) == labels.to_pylist()


@pytest.mark.parametrize(
    ("labels", "options"),
    [
        (pa.array(["cat", None, "dog"] * 100), {}),  # a null
        (pa.array([f"c{i % 128}" for i in range(1_000)]), {}),  # 128 labels in a chunk
        (LABELS["three classes at random"], {"use_dictionary": False}),  # PLAIN values
        (pa.array([f"c{i}" for i in range(3_000)]), {"dictionary_pagesize_limit": 100}),
    ],
    ids=["a null", "128 labels", "no dictionary", "dictionary falls back to PLAIN"],
)
def test_other_pages_are_left_to_arrow(labels, options, monkeypatch):
    buf = parquet(labels_table(labels), **options)
    assert decoded(buf) is None
    assert same_reading(read(buf), read_by_arrow(buf, monkeypatch))


def test_the_reader_gives_int8_codes_and_counts_them_as_arrow_s_indices(monkeypatch):
    buf = parquet(labels_table(LABELS["three classes at random"]), row_group_size=2_000)
    table = read(buf)
    assert table["label"].type == pa.dictionary(pa.int8(), pa.string())
    assert table["label"].num_chunks == 3  # one a row group
    counted = []
    real = bounds.refuse_expanded
    monkeypatch.setattr(
        bounds,
        "refuse_expanded",
        lambda table, decoded, limit: (counted.append(decoded), real(table, decoded, limit)),
    )
    read(buf)
    read_by_arrow(buf, monkeypatch)
    ours, arrows = counted
    # Arrow's int32 indices (and a few bytes of its own) are what both paths count
    assert ours >= 4 * 5_000 and abs(ours - arrows) < 4_096


def test_every_damaged_byte_of_the_label_column_reads_as_arrow_reads_it(monkeypatch):
    # Each byte of the label column's pages and headers flipped in turn (a dictionary page
    # and bit-packed and repeated runs, levels, two row groups): the reader's table or its
    # refusal is the one it gives when Arrow decodes the column.
    labels = pa.array(CLASSES).take(np.concatenate([np.arange(60) % 3, np.ones(60, int)]))
    buf = parquet(labels_table(labels), compression="none", data_page_size=40, row_group_size=70)
    kept = tried = 0
    for position, flip, damaged_buf in flipped(buf, 1):
        tried += 1
        ours = read(damaged_buf)
        kept += not isinstance(ours, str)
        assert same_reading(ours, read_by_arrow(damaged_buf, monkeypatch)), (position, flip)
    assert 0 < kept < tried  # some flips are read (statistics, a label's text), most not


@pytest.mark.parametrize("codec", ["snappy", "zstd"])
def test_damaged_compressed_label_pages_read_as_arrow_reads_them(codec, monkeypatch):
    labels = pa.array(CLASSES).take(np.random.default_rng(3).integers(0, 3, 3_000))
    buf = parquet(labels_table(labels), compression=codec, data_page_size=200)
    metadata = pq.ParquetFile(pa.BufferReader(buf)).metadata
    start, end = chunk_range(metadata.row_group(0).column(1), buf.size)
    data = bytearray(buf.to_pybytes())
    positions = np.random.default_rng(4).integers(start, end, 300)
    for position in positions:
        damaged = bytearray(data)
        damaged[position] ^= int(np.random.default_rng(int(position)).integers(1, 256))
        damaged_buf = pa.py_buffer(bytes(damaged))
        assert same_reading(read(damaged_buf), read_by_arrow(damaged_buf, monkeypatch))


def test_a_file_cut_inside_its_label_column_is_not_decoded():
    buf = parquet(labels_table(LABELS["three classes at random"]), data_page_size=300)
    metadata = pq.ParquetFile(pa.BufferReader(buf)).metadata
    start, end = chunk_range(metadata.row_group(0).column(1), buf.size)
    for cut in range(start, end, 7):
        found = labelpages.decoding(buf.slice(0, cut), metadata)
        assert found is not None and found.column([call() for call in found.calls]) is None


def test_forged_runs_are_not_decoded(monkeypatch):
    # A dictionary-coded page of 3 values ends in its values: a byte of bit width, then the
    # runs (here one bit-packed group). Runs that claim more bytes than the page holds, an
    # index past the dictionary's two entries, a width past 32: each left to Arrow.
    buf = parquet(labels_table(pa.array(["cat", "dog", "cat"])), compression="none")
    metadata = pq.ParquetFile(pa.BufferReader(buf)).metadata
    _, end = chunk_range(metadata.row_group(0).column(1), buf.size)
    data = bytearray(buf.to_pybytes())
    assert data[end - 3 : end] == bytes([0x01, 0x03, 0b010])  # width 1: 0, 1, 0
    assert as_text(decoded(buf)) == ["cat", "dog", "cat"]
    for forged in (
        bytes([0x01, 0x05, 0b010]),  # two groups of 8 values: a byte short
        bytes([0x02, 0x06, 0x03]),  # a run of three of index 3
        bytes([0x21, 0x06, 0x00]),  # a width of 33
        bytes([0x01, 0x00, 0x00]),  # a run of no values
    ):
        damaged = bytearray(data)
        damaged[end - 3 : end] = forged
        damaged_buf = pa.py_buffer(bytes(damaged))
        assert decoded(damaged_buf) is None, forged
        assert same_reading(read(damaged_buf), read_by_arrow(damaged_buf, monkeypatch))


def not_utf8(texts: list[bytes]) -> pa.Array:
    """A string array holding ``texts`` as they are (Arrow checks none of them here)."""
    offsets = np.cumsum([0] + [len(text) for text in texts]).astype(np.int32)
    data = pa.py_buffer(b"".join(texts))
    return pa.Array.from_buffers(pa.string(), len(texts), [None, pa.py_buffer(offsets), data])


@pytest.mark.parametrize("column", ["id", "label"])
@pytest.mark.parametrize("options", [{}, {"use_dictionary": False}])
def test_text_that_is_not_utf8_is_refused_in_words(column, options, monkeypatch):
    # Arrow decodes Parquet text without checking it: a label shown in a message failed
    # with a UnicodeDecodeError, an id in the alignment's text kernels with ArrowInvalid
    texts = [b"cat", b"d\xffg", b"cat"] if column == "label" else [b"r0", b"r\xff1", b"r2"]
    table = labels_table(pa.array(["cat", "dog", "cat"]))
    table = table.set_column(table.column_names.index(column), column, not_utf8(texts))
    buf = parquet(table, **options)
    message = f"Column '{column}' holds text that is not UTF-8. Save the file's text as UTF-8."
    assert read(buf) == read_by_arrow(buf, monkeypatch) == message


def test_a_label_index_past_its_dictionary_is_refused_in_words(monkeypatch):
    # Arrow decodes such an index without a word, and turning the labels into text later
    # failed with an ArrowIndexError
    buf = parquet(labels_table(pa.array(["cat", "dog", "cat"])), compression="none")
    metadata = pq.ParquetFile(pa.BufferReader(buf)).metadata
    _, end = chunk_range(metadata.row_group(0).column(1), buf.size)
    damaged = bytearray(buf.to_pybytes())
    damaged[end - 3 : end] = bytes([0x02, 0x06, 0x03])  # a run of three of index 3
    damaged_buf = pa.py_buffer(bytes(damaged))
    message = (
        "The Parquet file is damaged and cannot be read (a value of column 'label' is not "
        "one of its dictionary's)."
    )
    assert read(damaged_buf) == read_by_arrow(damaged_buf, monkeypatch) == message
