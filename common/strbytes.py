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
_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
SHORT = 16  # values of at most this many bytes are hashed from their bytes packed in 2 words


def _mixed(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer (a bijection of 64-bit words), in place."""
    x ^= x >> np.uint64(30)
    x *= _MIX[0]
    x ^= x >> np.uint64(27)
    x *= _MIX[1]
    x ^= x >> np.uint64(31)
    return x


def string_hashes(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each value: equal values hash alike, and two different values
    collide about once in 2**64 pairs. For checks where a false alarm only costs a second
    draw. A value of up to 16 bytes is hashed from its bytes packed in two words (ids
    usually are: read in place when every value has one length); a longer one by a
    polynomial over its bytes."""
    n = len(offsets) - 1
    lengths = np.diff(offsets)
    packed = np.zeros((n, SHORT), dtype=np.uint8)
    short = lengths <= SHORT
    with np.errstate(over="ignore"):
        if n and lengths[0] <= SHORT and (lengths == lengths[0]).all():
            width = int(lengths[0])
            packed[:, :width] = data[: n * width].reshape(n, width)
        elif short.any():
            rows = np.flatnonzero(short)
            counts = lengths[rows]
            owner = np.repeat(rows, counts)
            within = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(
                np.cumsum(counts) - counts, counts
            )
            packed[owner, within] = data[np.repeat(offsets[:-1][rows], counts) + within]
        words = packed.view(np.uint64)
        hashes = _mixed(words[:, 0] * _GOLDEN + lengths.astype(np.uint64))
        hashes ^= _mixed(words[:, 1] + _MIX[0])
        if not short.all():
            hashes[~short] = _long_hashes(offsets, data, ~short)
    return hashes


def _long_hashes(offsets: np.ndarray, data: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The polynomial hash (wrapping) of the values ``rows`` (a mask), their length mixed in."""
    picked = np.flatnonzero(rows)
    lengths = np.diff(offsets)[picked]
    starts = np.repeat(offsets[:-1][picked], lengths)
    within = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(lengths) - lengths, lengths
    )
    powers = np.ones(int(lengths.max()) + 1, dtype=np.uint64)
    powers[1:] = _HASH_BASE
    powers = np.cumprod(powers, dtype=np.uint64)
    terms = (data[starts + within].astype(np.uint64) + np.uint64(1)) * powers[within]
    sums = np.zeros(terms.size + 1, dtype=np.uint64)
    np.cumsum(terms, out=sums[1:])
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return _mixed(sums[bounds[1:]] - sums[bounds[:-1]] + lengths.astype(np.uint64) * _GOLDEN)
