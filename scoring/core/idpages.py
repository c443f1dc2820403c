"""A Parquet id column proven to hold the solution's ids in order, from its pages' bytes.

A run's output check (``algorithms.output_check``) reads the file the run wrote. At 10M
rows Arrow's decoding of the id column, 10M strings built one by one, takes a third of a
second, a quarter of a trivial method's own run; yet what scoring needs of those ids, when
the method wrote them as it read them, is one fact: they are the test ids, in the test
order. Here that fact is proven from the column's pages as the format lays them out
(``scoring.core.pages``), without building a string:

- the solution's ids are laid out once as ``PLAIN`` values (:class:`ExpectedIds`: each id's
  4-byte little-endian length, then its bytes), kept with the parsed solution;
- a ``PLAIN`` data page of ``v`` values that should hold ids ``k`` to ``k + v``: its values,
  decompressed, are byte for byte the expected layout from id ``k`` to ``k + v`` (one
  comparison of memory);
- a dictionary page of ``d`` values, first in its column chunk: the same, for the chunk's
  first ``d`` ids (entry ``e`` is the chunk's ``e``-th id); a dictionary-coded data page's
  indices (``RLE_DICTIONARY``: the hybrid runs) are its values' positions in the chunk,
  all below ``d``;
- definition levels (a nullable column: data page v1 or v2) all say "present";
- every row group's chunk holds as many values as the group has rows, and the groups
  together as many as the solution has ids.

Anything else (a null, a repetition level, another encoding, codec or page type, a page
that is not what its header says, a size past its chunk) is not proven: the reader then
decodes the column with Arrow as before, and the alignment finds whatever is wrong. A
proof is therefore never a guess: when it says yes, Arrow would have decoded exactly the
solution's ids. The pages are untrusted bytes, read in the check's capped process.

:func:`proof` walks the headers (the interpreter's work) and leaves the payloads to calls
that prove the pages in pieces of about as many bytes, to be run on both threads beside
whatever else the reader decodes (``scoring.core.reader``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from common.parallel import run_all, threads
from scoring.core.pages import (
    DICTIONARY_PAGE,
    PLAIN,
    PLAIN_DICTIONARY,
    RLE_DICTIONARY,
    PageHeader,
    chunk_pages,
    data_values,
    flat_text_column,
    hybrid,
    payload,
    unread_gives,
)

# The layout is kept in memory with the solution: not made for more than this.
MAX_LAYOUT_BYTES = 1 << 30
_MAX_RUNS = 10_000  # ids of one length in a row, laid out as a table each
_PIECE_ROWS = 1 << 20  # rows of one copy (pieces on both threads)
_PIECES = 8  # the pages are proven in this many pieces of about as many bytes each


class ExpectedIds:
    """The solution's ids (``ids``, text) and their ``PLAIN`` layout (``layout``): the
    values of a page that holds ids ``i`` to ``j`` are ``layout[start(i):start(j)]``."""

    def __init__(self, ids: pa.Array, layout: np.ndarray, offsets: np.ndarray) -> None:
        self.ids, self.layout, self._offsets = ids, layout, offsets
        self._buffer = pa.py_buffer(layout)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def of(cls, ids: pa.Array) -> ExpectedIds | None:
        """The layout of ``ids`` (a string array without nulls); None when it is not one
        laid out here (nulls, another type, more than ``MAX_LAYOUT_BYTES``)."""
        if ids.null_count or not (
            pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)
        ):
            return None
        offsets = _offsets(ids)
        total = 4 * len(ids) + int(offsets[-1])
        if total > MAX_LAYOUT_BYTES:
            return None
        layout = np.empty(total, dtype=np.uint8)
        _lay_out(ids, offsets, layout)
        return cls(ids, layout, offsets)

    def start(self, i: int) -> int:
        """Where id ``i``'s length starts in the layout."""
        return 4 * i + int(self._offsets[i])

    @property
    def decoded_bytes(self) -> int:
        """What Arrow's decoding of these ids would allocate: their bytes and offsets."""
        return int(self._offsets[-1]) + 4 * (len(self.ids) + 1)

    def equals(self, page: pa.Buffer, first: int, count: int) -> bool:
        """Whether ``page`` is the layout of ids ``first`` to ``first + count``."""
        if first < 0 or count < 0 or first + count > len(self.ids):
            return False
        low, high = self.start(first), self.start(first + count)
        if page.size != high - low:
            return False
        return page.equals(self._buffer.slice(low, high - low))


def _offsets(ids: pa.Array) -> np.ndarray:
    """Each id's start in the array's data (int64, from 0), and the end."""
    raw = np.frombuffer(ids.buffers()[1], dtype=_offset_type(ids))[
        ids.offset : ids.offset + len(ids) + 1
    ]
    return raw.astype(np.int64) - int(raw[0])


def _lay_out(ids: pa.Array, offsets: np.ndarray, layout: np.ndarray) -> None:
    """Each id's 4-byte length, then its bytes, into ``layout``. Ids of one length in a
    row (the usual case: numbered ids grow a digit at a time, UUIDs never change) are a
    table of ``4 + length`` bytes a row: two copies, in pieces on both threads. Ids whose
    length changes often are joined to their lengths by Arrow instead."""
    n = len(ids)
    lengths = np.diff(offsets)
    cuts = np.flatnonzero(lengths[1:] != lengths[:-1]) + 1
    if cuts.size > _MAX_RUNS:
        _join(ids, offsets, layout)
        return
    base = int(np.frombuffer(ids.buffers()[1], dtype=_offset_type(ids))[ids.offset])
    data = np.frombuffer(ids.buffers()[2], dtype=np.uint8)[base : base + int(offsets[-1])]
    edges = [0, *cuts.tolist(), n]
    pieces = [
        (start, min(end, start + _PIECE_ROWS))
        for first, end in itertools.pairwise(edges)
        for start in range(first, end, _PIECE_ROWS)
    ]

    def copy(start: int, end: int) -> None:
        length = int(lengths[start])
        rows = layout[4 * start + offsets[start] : 4 * end + offsets[end]]
        table = rows.reshape(end - start, 4 + length)
        table[:, :4] = np.array([length], dtype="<u4").view(np.uint8)
        table[:, 4:] = data[offsets[start] : offsets[end]].reshape(end - start, length)

    run_all([partial(copy, *piece) for piece in pieces], elements=int(layout.size))


def _join(ids: pa.Array, offsets: np.ndarray, layout: np.ndarray) -> None:
    """The layout by Arrow's element-wise join of each id's length (as 4 bytes) and the id."""
    n = len(ids)
    large = pa.types.is_large_string(ids.type)
    binary = pa.large_binary() if large else pa.binary()
    steps = (4 * np.arange(n + 1)).astype(_offset_type(ids))
    lengths = np.diff(offsets).astype("<u4")
    prefixes = pa.Array.from_buffers(binary, n, [None, pa.py_buffer(steps), pa.py_buffer(lengths)])
    joined = pc.binary_join_element_wise(prefixes, ids.view(binary), b"")
    first = int(np.frombuffer(joined.buffers()[1], dtype=steps.dtype)[joined.offset])
    layout[:] = np.frombuffer(joined.buffers()[2], dtype=np.uint8)[first : first + layout.size]


def _offset_type(ids: pa.Array) -> type:
    return (
        np.int64
        if pa.types.is_large_string(ids.type) or pa.types.is_large_binary(ids.type)
        else np.int32
    )


@dataclass(frozen=True)
class Proof:
    """The work of proving a column's pages, once their headers are walked: ``calls``, each
    proving a piece of the pages (True when every page of it holds the ids it should), to
    be run on any threads, and ``live_bytes``, the most the pieces hold at once (a page
    decompressed, and its values, per piece running), which is not the file's decoding."""

    calls: list[Callable[[], bool]]
    live_bytes: int


def proof(
    buf: pa.Buffer, metadata: pq.FileMetaData, expected: ExpectedIds, column: str = "id"
) -> Proof | None:
    """The proof that the file's ``column`` (in ``buf``, its footer ``metadata``) holds
    exactly ``expected``'s ids in order (module docstring): the pages' headers walked, the
    payloads left to the calls, in pieces of about as many bytes (both threads prove a
    file of one row group too); None when the pages are not ones read here or do not add
    up to the ids, which says nothing about the ids."""
    index = flat_text_column(metadata, column)
    if index is None:
        return None
    groups = [metadata.row_group(g) for g in range(metadata.num_row_groups)]
    rows = np.cumsum([0] + [g.num_rows for g in groups])
    if not groups or int(rows[-1]) != len(expected):
        return None
    max_def = metadata.schema.column(index).max_definition_level
    pages: list[_Page] = []
    for group, first in zip(groups, rows[:-1], strict=True):
        walked = _walk(buf, group.column(index), int(first), group.num_rows, max_def)
        if walked is None:
            return None
        pages += walked
    if not pages:
        return None
    sizes = np.cumsum([page.header.compressed for page in pages])
    cuts = np.searchsorted(sizes, sizes[-1] * np.arange(1, _PIECES) / _PIECES)
    pieces = [p for p in np.split(np.arange(len(pages)), cuts) if p.size]
    calls = [partial(_pages_proven, buf, [pages[i] for i in piece], expected) for piece in pieces]
    largest = max(page.header.uncompressed for page in pages)
    return Proof(calls=calls, live_bytes=2 * largest * min(len(calls), threads() + 1))


def proven_in_order(
    buf: pa.Buffer, metadata: pq.FileMetaData, expected: ExpectedIds, column: str = "id"
) -> bool:
    """Whether the file's ``column`` holds exactly ``expected``'s ids in order, proven
    from its pages (:func:`proof`, run on both threads); False when not proven."""
    found = proof(buf, metadata, expected, column)
    return found is not None and all(run_all(found.calls, elements=len(expected)))


@dataclass(frozen=True)
class _Page:
    """A page to prove: its header, where its payload starts, the solution row of its
    first value, that value's position in its chunk, the chunk's dictionary entries (-1:
    none), codec and greatest definition level."""

    header: PageHeader
    at: int
    first: int
    position: int
    dictionary: int
    codec: str | None
    max_def: int


@unread_gives(None)
def _walk(
    buf: pa.Buffer, chunk: pq.ColumnChunkMetaData, first: int, rows: int, max_def: int
) -> list[_Page] | None:
    """The pages of ``chunk`` (which should hold ids ``first`` to ``first + rows``) from
    their headers, each with what proving it needs; None when they are not pages read
    here or do not add up."""
    codec, found = chunk_pages(buf, chunk, rows)
    pages: list[_Page] = []
    # The entries of the chunk's dictionary (-1: none): entry e is to be id ``first + e``,
    # so a dictionary-coded value at chunk position p is the right id when its index is p.
    dictionary = -1
    for page in found:
        header = page.header
        if header.type == DICTIONARY_PAGE:
            pages.append(_Page(header, page.at, first, 0, -1, codec, max_def))
            dictionary = header.values
        elif header.encoding in (PLAIN, RLE_DICTIONARY, PLAIN_DICTIONARY):
            at, position = page.at, page.position
            pages.append(_Page(header, at, first + position, position, dictionary, codec, max_def))
        else:
            return None
    return pages


@unread_gives(False)
def _pages_proven(buf: pa.Buffer, pages: list[_Page], expected: ExpectedIds) -> bool:
    """Whether each of ``pages`` holds the ids it should."""
    for page in pages:
        header = page.header
        if header.type == DICTIONARY_PAGE:
            values = payload(buf, page.at, header.compressed, header.uncompressed, page.codec)
            if not expected.equals(values, page.first, header.values):
                return False
            continue
        values = data_values(buf, page.at, header, page.codec, page.max_def)
        if header.encoding == PLAIN:
            if not expected.equals(values, page.first, header.values):
                return False
        elif not _counting(values, page.position, header.values, page.dictionary):
            return False
    return True


def _counting(values: pa.Buffer, seen: int, count: int, dictionary: int) -> bool:
    """Whether a dictionary-coded page's indices are its values' positions in the chunk,
    ``seen`` to ``seen + count``, all within the ``dictionary`` proven entries."""
    if dictionary < 0 or seen + count > dictionary or values.size < 1:
        return False
    data = np.frombuffer(values, dtype=np.uint8)
    indices = hybrid(data[1:], int(data[0]), count)
    return indices.size == count and bool(
        np.array_equal(indices, np.arange(seen, seen + count, dtype=np.int64))
    )
