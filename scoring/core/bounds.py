"""Memory bounds for reading a submission, decided from the task's size before decoding.

A small file may declare or unpack to far more than it weighs: a Parquet file whose
dictionary-encoded columns hold 50M rows in 337 KB, a dictionary holding one
megabyte-long id repeated on every row, a gzip bomb, a CSV with more lines than the task.
The reader refuses these with a clear message, from what the file declares where it can
(Parquet metadata, line counts), and otherwise by counting what it decodes:

- rows: at most ``row_limit(test_rows)`` = 2 x the test rows + 10,000, so a file with a
  few duplicate or unknown ids still gets the precise message naming them;
- decoded bytes: at most ``decoded_limit(test_rows, columns)`` = 64 MiB + per allowed row
  128 bytes for text and 16 per other column: what a legitimate file needs, several times
  over, and nothing that grows with what a hostile file claims;
- Parquet row groups: at most ``MAX_ROW_GROUPS`` (each costs a probe of its dictionaries);
- a gzipped CSV unpacks to at most ``text_limit(test_rows)`` = 64 MiB + 1 KB per allowed
  row (and never more than the upload limit).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from common.parallel import map_rows, run_all
from common.refusals import SubmissionInvalid, count
from common.units import byte_size
from scoring.core.dictpage import longest_dictionary_value

_EXTRA_ROWS = 10_000
_BASE_BYTES = 64 * 2**20
_TEXT_BYTES_PER_ROW = 128
_OTHER_BYTES_PER_ROW = 16
_TEXT_BYTES_PER_CSV_ROW = 1024
BATCH_BYTES = 16 * 2**20  # what one decoded batch of a text column may hold at worst
# Rows per decoded batch at most (a text column's batch is cut sooner by its longest value,
# above). Each batch becomes a chunk of every column, and what scoring does per chunk adds
# up: 65,536-row batches cost a 30M-row scoring 1.1 s more than 1M-row ones (4.36 s against
# 3.23 s), and 3M rows 0.04 s.
MAX_BATCH_ROWS = 1 << 20
# Row groups a Parquet submission may have: each costs a probe of its dictionaries (below,
# ~0.1 ms with the footer parsed once), so 10,000 stay within a second or two. A file of
# 20,000 one-row groups took 386 s when each probe parsed the footer again.
MAX_ROW_GROUPS = 10_000
_SCAN_BYTES = 16 * 2**20


def row_limit(test_rows: int) -> int:
    """The most rows a submission for ``test_rows`` test rows may have."""
    return 2 * test_rows + _EXTRA_ROWS


def decoded_limit(test_rows: int, n_columns: int) -> int:
    """The most bytes the columns scoring keeps may take once decoded."""
    per_row = _TEXT_BYTES_PER_ROW + _OTHER_BYTES_PER_ROW * max(0, n_columns - 1)
    return _BASE_BYTES + row_limit(test_rows) * per_row


def text_limit(test_rows: int) -> int:
    """The most bytes a gzipped CSV may unpack to: 1 KB per allowed row, plus 64 MiB."""
    return _BASE_BYTES + row_limit(test_rows) * _TEXT_BYTES_PER_CSV_ROW


size = byte_size  # one home: common/units.py (binary units, as the README states limits)


def refuse_rows(rows: int, test_rows: int, *, what: str = "rows") -> None:
    """SubmissionInvalid when ``rows`` exceeds ``row_limit(test_rows)``."""
    if rows > row_limit(test_rows):
        raise SubmissionInvalid(
            f"The file has {rows:,} {what}, but the task has {count(test_rows, 'test row')}: "
            "submit one row per test id. Nothing else was read."
        )


def refuse_decoded(decoded: int, limit: int) -> None:
    if decoded > limit:
        raise SubmissionInvalid(
            f"The file's columns unpack to more than {size(limit)}, far more than one row "
            "per test id needs; it was refused before reading it all."
        )


def csv_lines(buf: pa.Buffer) -> int:
    """Line breaks in the file (an upper bound of its rows), counted without a copy (a
    large file's parts on two threads)."""
    data = np.frombuffer(buf, dtype=np.uint8)

    def breaks(rows: slice) -> tuple[int, int]:
        newlines = returns = 0
        for start in range(rows.start, rows.stop, _SCAN_BYTES):
            part = data[start : min(start + _SCAN_BYTES, rows.stop)]
            newlines += int(np.count_nonzero(part == 0x0A))
            returns += int(np.count_nonzero(part == 0x0D))
        return newlines, returns

    counted = map_rows(breaks, data.size, align=_SCAN_BYTES)
    newlines, returns = (sum(column) for column in zip(*counted, strict=True))
    ends_open = data.size > 0 and data[-1] not in (0x0A, 0x0D)
    return max(newlines, returns) + int(ends_open)


def check_parquet_metadata(metadata: pq.FileMetaData, columns: list[str], limit: int) -> None:
    """Refuse on the declared sizes alone: the footer is all that has been read."""
    indexes = _column_indexes(metadata, columns)
    declared = 0
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in indexes:
            declared += max(0, row_group.column(index).total_uncompressed_size)
    refuse_decoded(declared, limit)


def refuse_row_groups(groups: int) -> None:
    """SubmissionInvalid when the footer declares more than ``MAX_ROW_GROUPS`` row groups."""
    if groups > MAX_ROW_GROUPS:
        raise SubmissionInvalid(
            f"The Parquet file has {groups:,} row groups; at most {MAX_ROW_GROUPS:,} are read. "
            "Write it with larger row groups (pyarrow and pandas put up to 1,048,576 rows in "
            "each by default). Nothing else was read."
        )


def parquet_batch_rows(
    buf: pa.Buffer, metadata: pq.FileMetaData, columns: list[str], groups: Sequence[int]
) -> int:
    """Rows per decoded batch of the row groups ``groups``, so that one batch of text stays
    within ``BATCH_BYTES``.

    A dictionary page can hold one long value that every row repeats; decoding the rows
    copies it once per row. The longest value of each text column's dictionaries is read
    first (the dictionary page and one row, nothing more) and sizes the batches.
    """
    probes = []
    for index in _column_indexes(metadata, columns):
        name = metadata.schema.column(index).path.split(".")[0]
        for group in groups:
            chunk = metadata.row_group(group).column(index)
            if chunk.has_dictionary_page and chunk.physical_type == "BYTE_ARRAY":
                probes.append(partial(_longest_dictionary_value, buf, metadata, group, name, chunk))
    # Each probe decodes one dictionary page (a few ms for a megabyte of ids): on two
    # threads when there are several (Arrow's decoding releases the interpreter lock).
    longest = max(run_all(probes), default=1)
    return int(min(MAX_BATCH_ROWS, max(1, BATCH_BYTES // longest)))


def row_group_parts(metadata: pq.FileMetaData, parts: int) -> list[list[int]]:
    """The row groups in at most ``parts`` contiguous runs of about as many rows each (none
    empty), to be decoded at once: Arrow decodes a batch's columns on its threads, and a
    batch's longest column (the ids) would keep one of them busy alone."""
    count = metadata.num_row_groups
    rows = np.cumsum([max(0, metadata.row_group(i).num_rows) for i in range(count)])
    total = int(rows[-1]) if count else 0
    if parts <= 1 or count <= 1 or total == 0:
        return [list(range(count))]
    # a run ends at the first group whose rows reach its share of the total
    ends = np.searchsorted(rows, [total * i / parts for i in range(1, parts)], side="left") + 1
    bounds_ = sorted({0, *(int(e) for e in ends), count})
    return [list(range(a, b)) for a, b in itertools.pairwise(bounds_) if b > a]


def refuse_expanded(table: pa.Table, decoded: int, limit: int) -> None:
    """``refuse_decoded`` of ``decoded`` plus what the table's dictionary-encoded text
    columns take once expanded. Each chunk's longest value times its rows bounds that
    from the dictionaries alone; the rows' exact count (``dictionary_bytes``) is taken
    only when the bound does not already fit (class names: never)."""
    chunks = [
        chunk
        for column in table.columns
        if pa.types.is_dictionary(column.type) and _is_binary(column.type)
        for chunk in column.chunks
    ]
    longest = [int(pc.max(pc.binary_length(chunk.dictionary)).as_py() or 0) for chunk in chunks]
    bound = sum((most + 4) * len(chunk) for most, chunk in zip(longest, chunks, strict=True))
    if decoded + bound > limit:
        refuse_decoded(decoded + dictionary_bytes(table), limit)


def dictionary_bytes(table: pa.Table) -> int:
    """Bytes the table's dictionary-encoded text columns take once expanded (exact)."""
    total = 0
    for column in table.columns:
        if not pa.types.is_dictionary(column.type):
            continue
        for chunk in column.chunks:
            lengths = pc.binary_length(chunk.dictionary) if _is_binary(chunk.type) else None
            if lengths is None:
                continue
            lengths = np.append(np.asarray(lengths.fill_null(0).to_numpy()), 0)
            indices = pc.fill_null(chunk.indices, len(lengths) - 1).to_numpy()
            # each value's length times its rows: a count per value, not a gather per row
            uses = np.bincount(indices, minlength=len(lengths))
            total += int(uses @ lengths) + 4 * len(chunk)
    return total


def _is_binary(type_: pa.DictionaryType) -> bool:
    value = type_.value_type
    return (
        pa.types.is_string(value)
        or pa.types.is_large_string(value)
        or pa.types.is_binary(value)
        or pa.types.is_large_binary(value)
    )


def _column_indexes(metadata: pq.FileMetaData, columns: list[str]) -> list[int]:
    wanted = set(columns)
    return [
        i
        for i in range(metadata.num_columns)
        if metadata.schema.column(i).path.split(".")[0] in wanted
    ]


def _longest_dictionary_value(
    buf: pa.Buffer, metadata: pq.FileMetaData, group: int, name: str, chunk: pq.ColumnChunkMetaData
) -> int:
    read = longest_dictionary_value(buf, chunk)  # the page as laid out: no hash table
    if read is not None:
        return max(1, read)
    try:  # the footer as already parsed: parsing it again per probe made many groups quadratic
        reader = pq.ParquetFile(pa.BufferReader(buf), metadata=metadata, read_dictionary=[name])
        batch = next(reader.iter_batches(batch_size=1, row_groups=[group], columns=[name]), None)
    except (pa.ArrowException, OSError, ValueError):
        return max(1, chunk.total_uncompressed_size)  # unknown: assume the worst
    if batch is None or not pa.types.is_dictionary(batch.column(0).type):
        return max(1, chunk.total_uncompressed_size)
    lengths = pc.binary_length(batch.column(0).dictionary)
    return int(pc.max(lengths).as_py() or 1)
