"""A Parquet text column of few values (a run's labels) decoded from its pages into bytes.

The reader reads a text ``label`` column as a dictionary (``scoring.core.reader``: few
distinct values, no strings built). Arrow still decodes its indices as int32: at 10M rows,
40 MB of new memory in the output check's fresh process (``algorithms.output_check``),
0.05-0.08 s and 17,000 page faults for a column whose pages hold a few hundred bytes, and
every later pass reads four bytes a row. Here each row group's chunk of the column is read
as the format lays it out (``scoring.core.pages``):

- its dictionary page (``PLAIN``, at most ``MAX_ENTRIES`` values): each value's 4-byte
  little-endian length, then its bytes; the chunk's dictionary is made of those bytes as
  Arrow makes it (the reader then checks it as UTF-8, as it does Arrow's);
- its data pages, dictionary-coded (``RLE_DICTIONARY`` or ``PLAIN_DICTIONARY``: a byte of
  bit width, then the hybrid runs), with every definition level "present": the indices,
  each below the dictionary's entries, written straight into an int8 array of the row
  group's rows (a run of one index, the usual page, is one fill).

The column is then one ``DictionaryArray`` a row group (int8 indices), where Arrow gives one
a batch. Anything else (a null, another encoding or page type, a larger dictionary, an index
past it, a page that is not what its header says) is not decoded here and the reader asks
Arrow as before, so a file is never read two ways: when this module decodes a column, Arrow
would have decoded the same values, and every refusal keeps Arrow's words. The pages are
untrusted bytes, read in the check's capped process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from scoring.core.pages import (
    DICTIONARY_PAGE,
    PLAIN_DICTIONARY,
    RLE_DICTIONARY,
    Unread,
    chunk_pages,
    data_values,
    flat_text_column,
    hybrid,
    payload,
    unread_gives,
)

MAX_ENTRIES = 127  # a chunk's dictionary entries: its indices fit a signed byte


@dataclass(frozen=True)
class Decoding:
    """The work of decoding a column's pages, once its row groups are known: ``calls``,
    one a row group, each giving its ``DictionaryArray`` (None: not decoded here), to be
    run on any threads."""

    calls: list[Callable[[], pa.DictionaryArray | None]]

    def column(self, done: list[pa.DictionaryArray | None]) -> pa.ChunkedArray | None:
        """The column from the calls' results (in their order), or None unless every row
        group was decoded here."""
        if any(chunk is None for chunk in done):
            return None
        return pa.chunked_array(done, pa.dictionary(pa.int8(), pa.string()))


def decoding(buf: pa.Buffer, metadata: pq.FileMetaData, column: str = "label") -> Decoding | None:
    """The decoding of the file's text ``column`` (in ``buf``, its footer ``metadata``)
    from its pages (module docstring); None when it is not a flat text column or has no
    rows. Nothing is read before the calls run."""
    index = flat_text_column(metadata, column)
    if index is None:
        return None
    groups = [metadata.row_group(g) for g in range(metadata.num_row_groups)]
    if sum(g.num_rows for g in groups) <= 0:  # (a group's own count: checked by its call)
        return None
    max_def = metadata.schema.column(index).max_definition_level
    calls = [partial(_chunk, buf, g.column(index), g.num_rows, max_def) for g in groups]
    return Decoding(calls=calls)


@unread_gives(None)
def _chunk(
    buf: pa.Buffer, chunk: pq.ColumnChunkMetaData, rows: int, max_def: int
) -> pa.DictionaryArray:
    """``chunk``'s ``rows`` values: its dictionary, and its indices written into an int8
    array of its own (made once the headers and the dictionary are read)."""
    codec, pages = chunk_pages(buf, chunk, rows)
    if not pages or pages[0].header.type != DICTIONARY_PAGE:
        raise Unread
    head = pages[0].header
    if not 0 < head.values <= MAX_ENTRIES:
        raise Unread
    entries = head.values
    dictionary = _plain_text(
        payload(buf, pages[0].at, head.compressed, head.uncompressed, codec), entries
    )
    out = np.empty(rows, dtype=np.int8)
    before = None  # the page before, decoded: a page of the same bytes holds the same
    for page in pages[1:]:
        header = page.header
        if header.encoding not in (RLE_DICTIONARY, PLAIN_DICTIONARY):
            raise Unread
        into = out[page.position : page.position + header.values]
        raw = buf.slice(page.at, header.compressed)
        if before is not None and before[0] == header and before[1].equals(raw):
            into[:] = out[before[2] : before[2] + header.values]
            continue
        values = np.frombuffer(data_values(buf, page.at, header, codec, max_def), np.uint8)
        if values.size < 1:
            raise Unread
        hybrid(values[1:], int(values[0]), header.values, out=into, below=entries)
        before = (header, raw, page.position)
    indices = pa.Array.from_buffers(pa.int8(), out.size, [None, pa.py_buffer(out)])
    return pa.DictionaryArray.from_arrays(indices, dictionary, safe=False)


def _plain_text(page: pa.Buffer, count: int) -> pa.Array:
    """The ``count`` length-prefixed values that fill ``page`` exactly, as a string array
    of their bytes."""
    data = page.to_pybytes()
    values, at = [], 0
    for _ in range(count):
        if at + 4 > len(data):
            raise Unread
        length = int.from_bytes(data[at : at + 4], "little")
        at += 4
        if length > len(data) - at:
            raise Unread
        values.append(data[at : at + length])
        at += length
    if at != len(data):
        raise Unread
    offsets = np.cumsum([0] + [len(value) for value in values]).astype(np.int32)
    joined = pa.py_buffer(b"".join(values))
    return pa.Array.from_buffers(pa.string(), count, [None, pa.py_buffer(offsets), joined])
