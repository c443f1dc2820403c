"""A string array's UTF-8 bytes as numpy arrays, and back: the ground of vectorized string
edits (fresh ids, typos) that Arrow's compute functions do not offer.

``string_bytes`` gives the offsets (int64, starting at 0) and the bytes of every value
(nulls as empty values); ``string_array`` builds a ``pa.string()`` array from edited ones.
Only ASCII bytes are ever edited by the callers: an ASCII byte never occurs inside a
multi-byte UTF-8 sequence, so what they build stays valid UTF-8.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Column = pa.Array | pa.ChunkedArray


def string_bytes(values: Column) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, data)`` of ``values`` (text): value i is ``data[offsets[i]:offsets[i+1]]``;
    a null is an empty value (the caller keeps the null mask)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if values.type != pa.large_string():
        values = values.cast(pa.large_string())
    if values.null_count:
        values = pc.fill_null(values, "")
    _, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(
        offsets_buffer, dtype=np.int64, count=len(values) + 1, offset=values.offset * 8
    )
    start, stop = int(offsets[0]), int(offsets[-1])
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8, count=stop - start, offset=start)
        if data_buffer is not None and stop > start
        else np.zeros(0, dtype=np.uint8)
    )
    return offsets - start, data


def string_array(
    offsets: np.ndarray, data: np.ndarray, nulls: np.ndarray | None = None
) -> pa.Array:
    """A ``pa.string()`` array of the values ``data[offsets[i]:offsets[i+1]]``, null where
    ``nulls`` is True."""
    n = len(offsets) - 1
    data = np.ascontiguousarray(data, dtype=np.uint8)
    array = pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(np.ascontiguousarray(offsets, dtype=np.int64)), pa.py_buffer(data)
    )
    if nulls is not None and nulls.any():
        array = pc.if_else(pa.array(nulls), pa.scalar(None, pa.large_string()), array)
    return array.cast(pa.string())


def owners(offsets: np.ndarray) -> np.ndarray:
    """The value (row) each byte belongs to."""
    return np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))


def run_starts(mask: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """True at each byte where ``mask`` holds and the previous byte of the same value does
    not (the first byte of each run)."""
    starts = mask.copy()
    if mask.size > 1:
        starts[1:] &= ~mask[:-1]
    first = offsets[:-1][np.diff(offsets) > 0]
    starts[first] = mask[first]
    return starts


_HASH_BASE = np.uint64(0x100000001B3)  # FNV's 64-bit prime as a polynomial base
_HASH_MIX = np.uint64(0x9E3779B97F4A7C15)


def string_hashes(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each value (a polynomial over its bytes, wrapping, with its length
    mixed in): equal values hash alike; a collision of two different values is about one in
    2**64 per pair. For checks where a false alarm only costs a second draw."""
    lengths = np.diff(offsets)
    longest = int(lengths.max()) if lengths.size else 0
    powers = np.ones(longest + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        if longest:
            powers[1:] = _HASH_BASE
            powers = np.cumprod(powers, dtype=np.uint64)
        position = np.arange(data.size, dtype=np.int64) - np.repeat(offsets[:-1], lengths)
        terms = (data.astype(np.uint64) + np.uint64(1)) * powers[position]
        sums = np.zeros(data.size + 1, dtype=np.uint64)
        np.cumsum(terms, out=sums[1:])
        hashes = sums[offsets[1:]] - sums[offsets[:-1]]
        hashes ^= lengths.astype(np.uint64) * _HASH_MIX
    return hashes
