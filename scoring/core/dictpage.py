"""The longest value of a Parquet column chunk's text dictionary, read from the page itself.

The bounded reader (``scoring.core.bounds.parquet_batch_rows``) sizes its batches by the
longest value of every text dictionary it will expand. Asking Arrow for a dictionary
(``read_dictionary``) inserts each of its values in a hash table: 15-20 ms for the 90,000
ids of one row group's dictionary page, a tenth of a second or more for a 10M-row file,
most of a run's output check beyond the decoding itself. Here the page is read as the
format lays it out and nothing more: its header (Thrift's compact protocol: the page type,
sizes, the dictionary's value count and encoding), its bytes decompressed into exactly the
size the header gives, and the values' 4-byte little-endian lengths, each followed by its
bytes (``PLAIN``).

The lengths are found without a loop over the values: offsets whose two high length bytes
are zero are the candidates (text ids and labels are shorter than 64 KiB), and the answer
is accepted only when the candidates are exactly the chain the format walks (the first at
0, each next one 4 + its length further, the last ending the page, as many as the header
says). Anything else (a value of 64 KiB or more, a zero pair inside a value, a codec or a
header field not read here, a page that is not what its header says) answers None: the
caller then asks Arrow, as before. An answer is therefore always the dictionary's true
longest value, never an estimate.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

_DICTIONARY_PAGE = 2  # PageType.DICTIONARY_PAGE
_PLAIN_ENCODINGS = (0, 2)  # PLAIN, PLAIN_DICTIONARY (the old name of the same layout)
_CODECS = {"UNCOMPRESSED": None, "SNAPPY": "snappy", "GZIP": "gzip", "ZSTD": "zstd"}
_HEADER_BYTES = 256  # a dictionary page's header is a few dozen bytes
_PAGE_BYTES = 64 * 2**20  # a larger page is left to Arrow
# Thrift compact protocol types
_TRUE, _FALSE, _I32, _STRUCT = 1, 2, 5, 12


class _Unread(Exception):
    """Not a page this module reads: the caller asks Arrow."""


def longest_dictionary_value(buf: pa.Buffer, chunk: pq.ColumnChunkMetaData) -> int | None:
    """The longest value of ``chunk``'s dictionary page (``BYTE_ARRAY``, in ``buf``, the
    whole file), in bytes; None when the page is not one read here (module docstring)."""
    try:
        return _longest(buf, chunk)
    except (_Unread, pa.ArrowException, OSError, ValueError, OverflowError):
        return None


def _longest(buf: pa.Buffer, chunk: pq.ColumnChunkMetaData) -> int:
    codec = _CODECS.get(chunk.compression, "?")
    offset = chunk.dictionary_page_offset
    if codec == "?" or offset is None or not 0 < offset < buf.size:
        raise _Unread
    head = buf.slice(offset, min(_HEADER_BYTES, buf.size - offset)).to_pybytes()
    header = _Header(head)
    start = offset + header.size
    if not (
        header.type == _DICTIONARY_PAGE
        and header.encoding in _PLAIN_ENCODINGS
        and header.values >= 0
        and 0 <= header.uncompressed <= _PAGE_BYTES
        and 0 <= header.compressed <= buf.size - start
    ):
        raise _Unread
    data = buf.slice(start, header.compressed)
    if codec is not None:
        data = pa.decompress(data, decompressed_size=header.uncompressed, codec=codec)
    if data.size != header.uncompressed:
        raise _Unread
    return _longest_plain(np.frombuffer(data, dtype=np.uint8), header.values)


def _longest_plain(page: np.ndarray, values: int) -> int:
    """The longest of the ``values`` length-prefixed values that fill ``page`` exactly."""
    if values == 0:
        if page.size:
            raise _Unread
        return 0
    if page.size < 4 * values:
        raise _Unread
    # Offsets whose next two bytes but one are zero could start a length below 64 KiB; a
    # length below 256 has three zero bytes, so the offset before it qualifies too: the
    # last of each run of such offsets is the candidate.
    high_zero = np.append((page[2:-1] == 0) & (page[3:] == 0), False)
    starts = np.flatnonzero(high_zero[:-1] & ~high_zero[1:])
    if starts.size != values:
        raise _Unread
    lengths = page[starts].astype(np.int64) | (page[starts + 1].astype(np.int64) << 8)
    ends = starts + 4 + lengths
    if starts[0] != 0 or ends[-1] != page.size or not np.array_equal(ends[:-1], starts[1:]):
        raise _Unread
    return int(lengths.max())


class _Header:
    """The fields of a page header (Thrift compact protocol) a dictionary page has; any
    other field, or a field of another type, is :class:`_Unread`."""

    def __init__(self, data: bytes) -> None:
        self._data, self.size = data, 0
        self.type = self.uncompressed = self.compressed = -1
        self.values = self.encoding = -1
        fields = {1: "type", 2: "uncompressed", 3: "compressed", 4: "crc"}
        for field, kind in self._fields():
            if field in fields and kind == _I32:
                setattr(self, fields[field], self._int())
            elif field == 7 and kind == _STRUCT:
                self._dictionary_header()
            else:
                raise _Unread

    def _dictionary_header(self) -> None:
        for field, kind in self._fields():
            if field == 1 and kind == _I32:
                self.values = self._int()
            elif field == 2 and kind == _I32:
                self.encoding = self._int()
            elif not (field == 3 and kind in (_TRUE, _FALSE)):  # is_sorted: in its type
                raise _Unread

    def _fields(self):
        field = 0
        while True:
            byte = self._byte()
            if byte == 0:  # the struct's end
                return
            delta, kind = byte >> 4, byte & 0x0F
            field = field + delta if delta else self._zigzag(self._varint())
            yield field, kind

    def _int(self) -> int:
        return self._zigzag(self._varint())

    def _varint(self) -> int:
        value = shift = 0
        while shift < 35:
            byte = self._byte()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
        raise _Unread

    @staticmethod
    def _zigzag(value: int) -> int:
        return (value >> 1) ^ -(value & 1)

    def _byte(self) -> int:
        if self.size >= len(self._data):
            raise _Unread
        self.size += 1
        return self._data[self.size - 1]
