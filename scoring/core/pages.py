"""Parquet pages as the format lays them out: headers, payloads, levels and index runs.

What ``dictpage`` and ``idpages`` read of a column chunk without asking Arrow to decode it.
Every function here reads untrusted bytes (a run's or a team's file) and raises
:class:`Unread` for anything it does not read exactly as the format says: a field of an
unexpected type, a size past the end, a codec not listed, a run that claims more bytes
than there are. The callers then ask Arrow, as they would without this module; nothing
here ever guesses.

- :func:`page_header`: a ``PageHeader`` (Thrift's compact protocol): the page's type and
  sizes, and the fields of its data page (v1 or v2) or dictionary page header. Fields the
  reader does not use (statistics, CRC, future fields) are skipped by their declared types,
  as Thrift does.
- :func:`chunk_pages`: a column chunk's pages from their headers (a dictionary page first,
  then data pages whose values add up to the chunk's).
- :func:`payload`: a page's bytes, decompressed into exactly the size its header gives;
  :func:`data_values`, a data page's values once its levels say every value is present.
- :func:`hybrid`: the RLE / bit-packed hybrid runs of levels and dictionary indices.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DATA_PAGE, DICTIONARY_PAGE, DATA_PAGE_V2 = 0, 2, 3  # PageType
PLAIN, PLAIN_DICTIONARY, RLE, RLE_DICTIONARY = 0, 2, 3, 8  # Encoding
CODECS = {"UNCOMPRESSED": None, "SNAPPY": "snappy", "GZIP": "gzip", "ZSTD": "zstd"}
PAGE_BYTES = 64 * 2**20  # a larger page is left to Arrow
_HEADER_BYTES = 1 << 16  # a header is a few dozen bytes (statistics: two values more)
_DEPTH = 8  # nesting of structs, lists and maps a header may have
# Thrift compact protocol types
_TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY = 1, 2, 3, 4, 5, 6, 7, 8
_LIST, _SET, _MAP, _STRUCT = 9, 10, 11, 12
_INTEGERS = (_BYTE, _I16, _I32, _I64)


class Unread(Exception):
    """Not bytes this module reads: the caller asks Arrow."""


# What reading a page's untrusted bytes may raise besides Unread (a codec's error, a size
# numpy or Arrow refuses): each means the page is not one read here.
NOT_READ = (Unread, pa.ArrowException, OSError, ValueError, OverflowError)


def unread_gives(default: object) -> Callable[[Callable], Callable]:
    """A reader of pages that answers ``default`` for pages not read here (and damaged
    ones) instead of raising."""

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def guarded(*args: object) -> object:
            try:
                return function(*args)
            except NOT_READ:
                return default

        return guarded

    return decorate


@dataclass(frozen=True)
class PageHeader:
    """The fields of a page header the readers use (-1: absent). ``size``: the header's
    own bytes. ``values``: a data page's or dictionary page's value count; ``nulls``,
    ``rows``, ``def_bytes``, ``rep_bytes`` and ``compressed_values``: a v2 data page's.
    A header is read only for a data page (v1 or v2) or a dictionary page, with the
    fields Thrift requires of it."""

    size: int
    type: int
    uncompressed: int
    compressed: int
    values: int = -1
    encoding: int = -1
    def_encoding: int = -1
    rep_encoding: int = -1
    nulls: int = -1
    rows: int = -1
    def_bytes: int = -1
    rep_bytes: int = -1
    compressed_values: bool = True


# field id -> (name, compact type) for each struct read; bool fields are TRUE/FALSE
_PAGE = {1: ("type", _I32), 2: ("uncompressed", _I32), 3: ("compressed", _I32)}
_DATA_V1 = {
    1: ("values", _I32),
    2: ("encoding", _I32),
    3: ("def_encoding", _I32),
    4: ("rep_encoding", _I32),
}
_DICTIONARY = {1: ("values", _I32), 2: ("encoding", _I32)}
_DATA_V2 = {
    1: ("values", _I32),
    2: ("nulls", _I32),
    3: ("rows", _I32),
    4: ("encoding", _I32),
    5: ("def_bytes", _I32),
    6: ("rep_bytes", _I32),
    7: ("compressed_values", _TRUE),
}
_SUBHEADERS = {5: _DATA_V1, 7: _DICTIONARY, 8: _DATA_V2}  # data, dictionary, data v2
# The header a page of each type must have, with its required fields (Thrift refuses a
# header without them, so Arrow would: none is ever taken for a default here)
_REQUIRED = {
    DATA_PAGE: (5, {"values", "encoding", "def_encoding", "rep_encoding"}),
    DICTIONARY_PAGE: (7, {"values", "encoding"}),
    DATA_PAGE_V2: (8, {"values", "nulls", "rows", "encoding", "def_bytes", "rep_bytes"}),
}


def page_header(data: memoryview, at: int, end: int) -> PageHeader:
    """The page header that starts at ``at`` in ``data`` (no further than ``end``)."""
    reader = _Compact(data, at, min(end, at + _HEADER_BYTES))
    fields: dict[str, int | bool] = {}
    kinds: list[int] = []
    for field, kind in reader.fields():
        if field in _PAGE:
            fields[_PAGE[field][0]] = reader.integer(kind, _PAGE[field][1])
        elif field in _SUBHEADERS and kind == _STRUCT:
            kinds.append(field)
            for sub, sub_kind in reader.fields():
                name, want = _SUBHEADERS[field].get(sub, ("", 0))
                if want == _TRUE and sub_kind in (_TRUE, _FALSE):
                    fields[name] = sub_kind == _TRUE
                elif want:
                    fields[name] = reader.integer(sub_kind, want)
                else:
                    reader.skip(sub_kind, 0)
        else:
            reader.skip(kind, 0)
    if len(kinds) != 1 or not {"type", "uncompressed", "compressed"} <= fields.keys():
        raise Unread
    kind, required = _REQUIRED.get(int(fields["type"]), (0, set()))
    if kinds[0] != kind or not required <= fields.keys():
        raise Unread  # another page type, or a header Thrift would refuse
    return PageHeader(size=reader.at - at, **fields)  # type: ignore[arg-type]


def chunk_range(chunk: pq.ColumnChunkMetaData, size: int) -> tuple[int, int]:
    """Where ``chunk``'s pages lie in a file of ``size`` bytes, as Arrow finds them: from
    its dictionary page when it has one before the data pages, for its compressed size."""
    start = chunk.data_page_offset
    dictionary = chunk.dictionary_page_offset
    if chunk.has_dictionary_page and dictionary is not None and 0 < dictionary < start:
        start = dictionary
    end = start + chunk.total_compressed_size
    if not 0 < start < end <= size:
        raise Unread
    return start, end


def flat_text_column(metadata: pq.FileMetaData, name: str) -> int | None:
    """The index of the flat (not nested, not repeated) text ``BYTE_ARRAY`` column
    ``name``, else None."""
    for i in range(metadata.num_columns):
        described = metadata.schema.column(i)
        if described.path == name:
            flat = described.max_repetition_level == 0 and described.max_definition_level <= 1
            text = (
                described.physical_type == "BYTE_ARRAY" and described.logical_type.type == "STRING"
            )
            return i if flat and text else None
    return None


@dataclass(frozen=True)
class ChunkPage:
    """A page of a column chunk: its header, where its payload starts (``at``) and its
    first value's position in the chunk (a dictionary page: 0)."""

    header: PageHeader
    at: int
    position: int


def chunk_pages(
    buf: pa.Buffer, chunk: pq.ColumnChunkMetaData, rows: int
) -> tuple[str | None, list[ChunkPage]]:
    """The codec of ``chunk`` (in ``buf``, the whole file) and its pages, which should
    hold ``rows`` values, from their headers: at most one dictionary page (``PLAIN``),
    before any data page, then data pages (v1 or v2) whose values add up to ``rows``.
    Their encodings and payloads are the caller's to read."""
    codec = CODECS.get(chunk.compression, "?")
    if codec == "?" or chunk.num_values != rows:
        raise Unread
    at, end = chunk_range(chunk, buf.size)
    data = memoryview(buf).cast("B")  # unsigned: compared with bytes below
    pages: list[ChunkPage] = []
    seen, dictionary = 0, False
    # The last header read and its bytes: a page's header is often byte for byte the one
    # before (a column of one repeated label), which reads the same
    known, header = b"", None
    while seen < rows:
        if not (known and at + len(known) <= end and data[at : at + len(known)] == known):
            header = page_header(data, at, end)
            known = bytes(data[at : at + header.size])
        at += header.size
        if not 0 <= header.compressed <= end - at:
            raise Unread
        if header.type == DICTIONARY_PAGE:
            if seen or dictionary or header.encoding not in (PLAIN, PLAIN_DICTIONARY):
                raise Unread
            dictionary = True
            pages.append(ChunkPage(header, at, 0))
        elif header.type in (DATA_PAGE, DATA_PAGE_V2):
            if header.values < 0 or seen + header.values > rows:
                raise Unread
            pages.append(ChunkPage(header, at, seen))
            seen += header.values
        else:
            raise Unread
        at += header.compressed
    return codec, pages


def payload(buf: pa.Buffer, at: int, compressed: int, uncompressed: int, codec: str | None):
    """The ``compressed`` bytes at ``at`` of ``buf``, decompressed by ``codec`` (None: as
    they are) into exactly ``uncompressed`` bytes (a ``pa.Buffer``)."""
    if not (0 <= compressed <= buf.size - at and 0 <= uncompressed <= PAGE_BYTES):
        raise Unread
    data = buf.slice(at, compressed)
    if codec is not None:
        try:
            data = _codec(codec).decompress(data, decompressed_size=uncompressed)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise Unread from exc
    if data.size != uncompressed:
        raise Unread
    return data


@functools.cache
def _codec(name: str) -> pa.Codec:
    return pa.Codec(name)


def data_values(
    buf: pa.Buffer, at: int, header: PageHeader, codec: str | None, max_def: int
) -> pa.Buffer:
    """A data page's values (its payload at ``at``), once its definition levels are proven
    to say every value is present (``max_def``: the column's greatest level)."""
    count = header.values
    if header.type == DATA_PAGE:
        page = payload(buf, at, header.compressed, header.uncompressed, codec)
        if max_def == 0:
            return page
        if header.def_encoding != RLE or page.size < 4:
            raise Unread
        size = int.from_bytes(page.slice(0, 4).to_pybytes(), "little")
        if size > page.size - 4:
            raise Unread
        _all_present(page.slice(4, size), count, max_def)
        return page.slice(4 + size)
    # v2: repetition and definition levels uncompressed, then the values (compressed or not)
    levels = header.def_bytes + header.rep_bytes
    if header.nulls != 0 or header.rep_bytes != 0 or header.def_bytes < 0:
        raise Unread
    if not 0 <= levels <= min(header.compressed, header.uncompressed):
        raise Unread
    if max_def:
        _all_present(buf.slice(at, header.def_bytes), count, max_def)
    elif header.def_bytes:
        raise Unread
    return payload(
        buf,
        at + levels,
        header.compressed - levels,
        header.uncompressed - levels,
        codec if header.compressed_values else None,
    )


def _all_present(levels: pa.Buffer, count: int, max_def: int) -> None:
    """Unread unless the first ``count`` definition levels are all ``max_def``."""
    head = levels.slice(0, min(levels.size, 6)).to_pybytes()
    if head and head[-1] == max_def:  # the usual: one run of ``max_def`` (1 byte: max 1)
        header, at = uleb(np.frombuffer(head, dtype=np.uint8), 0)
        if not header & 1 and header >> 1 >= count and at == len(head) - 1:
            return
    decoded = hybrid(np.frombuffer(levels, dtype=np.uint8), int(max_def).bit_length(), count)
    if decoded.size != count or not (decoded == max_def).all():
        raise Unread


def hybrid(
    data: np.ndarray,
    width: int,
    count: int,
    *,
    out: np.ndarray | None = None,
    below: int | None = None,
) -> np.ndarray:
    """The first ``count`` values of the RLE / bit-packed hybrid runs that fill ``data``
    (uint8) at ``width`` bits each: int64, or written into ``out`` (an integer array of
    ``count`` values) and returned. With ``below``, a value not below it is Unread (a
    dictionary index past its dictionary). Runs past the ``count``-th value are not read;
    a bit-packed run's padding is dropped."""
    if not 0 <= width <= 32 or (out is not None and out.size != count):
        raise Unread
    runs = _runs(data, width, count, below)
    packed = [run for run in runs if run[2] is not None]
    if out is None and below is None and packed and len(packed) == len(runs):
        # bit-packed only (distinct values): in a row
        return _unpack(np.concatenate([data[run[2]] for run in packed]), width)[:count]
    if out is None:
        out = np.empty(count, dtype=np.int64)
    if packed:  # unpacked at once: the runs' bytes joined, each run's values then placed
        joined = np.concatenate([data[run[2]] for run in packed])
        unpacked = _unpack(joined, width)
        start = 0
        for first, values, where, _ in packed:
            piece = unpacked[start : start + values]
            if below is not None and values and int(piece.max()) >= below:
                raise Unread
            out[first : first + values] = piece
            start += (where.stop - where.start) * 8 // width if width else 0
    for first, values, where, value in runs:
        if where is None:
            out[first : first + values] = value
    return out


def _runs(
    data: np.ndarray, width: int, count: int, below: int | None
) -> list[tuple[int, int, slice | None, int]]:
    """The runs that hold the first ``count`` values: (first value, values, the bytes of a
    bit-packed run or None, the repeated value of a run)."""
    runs: list[tuple[int, int, slice | None, int]] = []
    got = at = 0
    value_bytes = (width + 7) // 8
    while got < count:
        header, at = uleb(data, at)
        if header & 1:  # bit-packed: groups of 8 values, ``width`` bytes a group
            size = (header >> 1) * width
            if size == 0 or at + size > data.size:
                raise Unread
            values = min((header >> 1) * 8, count - got)
            runs.append((got, values, slice(at, at + size), 0))
            at += size
        else:  # a run: one value repeated
            repeat = header >> 1
            if repeat == 0 or at + value_bytes > data.size:
                raise Unread
            value = int.from_bytes(data[at : at + value_bytes].tobytes(), "little")
            if value >> width or (below is not None and value >= below):
                raise Unread
            values = min(repeat, count - got)
            runs.append((got, values, None, value))
            at += value_bytes
        got += values
    return runs


def _unpack(packed: np.ndarray, width: int) -> np.ndarray:
    """Every ``width``-bit value of ``packed`` (least significant bit first), as int64:
    each from the five bytes that hold it (a width of 32 at a shift of 7 spans 39 bits)."""
    count = packed.size * 8 // width if width else packed.size * 8
    if width == 0:
        return np.zeros(count, dtype=np.int64)
    bits = np.arange(count, dtype=np.int64) * width
    at = bits >> 3
    padded = np.concatenate([packed, np.zeros(5, dtype=np.uint8)])
    word = np.zeros(count, dtype=np.uint64)
    for byte in range(5):
        word |= padded[at + byte].astype(np.uint64) << np.uint64(8 * byte)
    word >>= (bits & 7).astype(np.uint64)
    word &= np.uint64((1 << width) - 1)
    return word.astype(np.int64)


def uleb(data: np.ndarray, at: int) -> tuple[int, int]:
    """The unsigned LEB128 varint at ``at`` of ``data`` (uint8), and where it ends."""
    value = shift = 0
    while shift < 35:
        if at >= data.size:
            raise Unread
        byte = int(data[at])
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7
    raise Unread


class _Compact:
    """Thrift's compact protocol over ``data[at:end]``."""

    def __init__(self, data: memoryview, at: int, end: int) -> None:
        # As unsigned bytes: an Arrow buffer's view is of signed chars ("b"), whose bytes
        # from 0x80 on would read as negative numbers
        self.data = data if data.format == "B" else data.cast("B")
        self.at, self.end = at, end

    def fields(self):
        """(field id, type) of each field of the struct that starts here, to its end."""
        field = 0
        while True:
            if self.at >= self.end:
                raise Unread
            byte = self.data[self.at]
            self.at += 1
            if byte == 0:  # the struct's end
                return
            delta, kind = byte >> 4, byte & 0x0F
            field = field + delta if delta else self._zigzag(self._varint())
            yield field, kind

    def integer(self, kind: int, want: int) -> int:
        if kind != want or want not in _INTEGERS:
            raise Unread
        if kind == _BYTE:
            return self._byte()
        return self._zigzag(self._varint())

    def skip(self, kind: int, depth: int) -> None:
        """Past one value of type ``kind``."""
        if depth > _DEPTH:
            raise Unread
        if kind in (_TRUE, _FALSE):
            return
        if kind == _BYTE:
            self._byte()
        elif kind in (_I16, _I32, _I64):
            self._varint()
        elif kind == _DOUBLE:
            self._advance(8)
        elif kind == _BINARY:
            self._advance(self._varint())
        elif kind in (_LIST, _SET):
            byte = self._byte()
            size, element = byte >> 4, byte & 0x0F
            if size == 15:
                size = self._varint()
            for _ in range(size):
                if element in (_TRUE, _FALSE):  # inside a list, a bool is a byte
                    self._byte()
                else:
                    self.skip(element, depth + 1)
        elif kind == _MAP:
            size = self._varint()
            if size:
                types = self._byte()
                for _ in range(size):
                    self.skip(types >> 4, depth + 1)
                    self.skip(types & 0x0F, depth + 1)
        elif kind == _STRUCT:
            for _, sub in self.fields():
                self.skip(sub, depth + 1)
        else:
            raise Unread

    def _advance(self, size: int) -> None:
        if size < 0 or self.at + size > self.end:
            raise Unread
        self.at += size

    def _varint(self) -> int:
        data, at, end = self.data, self.at, self.end  # (locals: a header has dozens)
        value = shift = 0
        while shift < 70 and at < end:
            byte = data[at]
            at += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                self.at = at
                return value
            shift += 7
        raise Unread

    @staticmethod
    def _zigzag(value: int) -> int:
        return (value >> 1) ^ -(value & 1)

    def _byte(self) -> int:
        if self.at >= self.end:
            raise Unread
        self.at += 1
        return self.data[self.at - 1]
