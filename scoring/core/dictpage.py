"""The longest value of a Parquet column chunk's text dictionary, read from the page itself.

The bounded reader (``scoring.core.bounds.parquet_batch_rows``) sizes its batches by the
longest value of every text dictionary it will expand. Asking Arrow for a dictionary
(``read_dictionary``) inserts each of its values in a hash table: 15-20 ms for the 90,000
ids of one row group's dictionary page, a tenth of a second or more for a 10M-row file,
most of a run's output check beyond the decoding itself. Here the page is read as the
format lays it out and nothing more (``scoring.core.pages``): its header (the page type,
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

from scoring.core.pages import (
    CODECS,
    DICTIONARY_PAGE,
    PLAIN,
    PLAIN_DICTIONARY,
    Unread,
    page_header,
    payload,
    unread_gives,
)


@unread_gives(None)
def longest_dictionary_value(buf: pa.Buffer, chunk: pq.ColumnChunkMetaData) -> int | None:
    """The longest value of ``chunk``'s dictionary page (``BYTE_ARRAY``, in ``buf``, the
    whole file), in bytes; None when the page is not one read here (module docstring)."""
    codec = CODECS.get(chunk.compression, "?")
    offset = chunk.dictionary_page_offset
    if codec == "?" or offset is None or not 0 < offset < buf.size:
        raise Unread
    header = page_header(memoryview(buf), offset, buf.size)
    if not (header.type == DICTIONARY_PAGE and header.encoding in (PLAIN, PLAIN_DICTIONARY)):
        raise Unread
    if header.values < 0:
        raise Unread
    start = offset + header.size
    data = payload(buf, start, header.compressed, header.uncompressed, codec)
    return _longest_plain(np.frombuffer(data, dtype=np.uint8), header.values)


def _longest_plain(page: np.ndarray, values: int) -> int:
    """The longest of the ``values`` length-prefixed values that fill ``page`` exactly."""
    if values == 0:
        if page.size:
            raise Unread
        return 0
    if page.size < 4 * values:
        raise Unread
    # Offsets whose next two bytes but one are zero could start a length below 64 KiB; a
    # length below 256 has three zero bytes, so the offset before it qualifies too: the
    # last of each run of such offsets is the candidate.
    high_zero = np.append((page[2:-1] == 0) & (page[3:] == 0), False)
    starts = np.flatnonzero(high_zero[:-1] & ~high_zero[1:])
    if starts.size != values:
        raise Unread
    lengths = page[starts].astype(np.int64) | (page[starts + 1].astype(np.int64) << 8)
    ends = starts + 4 + lengths
    if starts[0] != 0 or ends[-1] != page.size or not np.array_equal(ends[:-1], starts[1:]):
        raise Unread
    return int(lengths.max())
