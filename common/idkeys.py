"""Ids of any shape (UUIDs, free strings) matched and proven distinct in numpy passes.

Arrow's hash kernels (``index_in``, ``value_counts``) cost about half a microsecond per id
(1.3-3 s for 3M ids here), and a sort of string keys more. Ids are short, so:

- :func:`id_bytes`: the ids as an (n, width) byte matrix, a view of Arrow's own buffer when
  every id has the same length (UUIDs, ``id-000042``), else padded with NUL bytes by Arrow
  (ASCII ids only), with each id's length kept beside;
- :func:`id_keys`: one 64-bit key per id, mixed from the matrix's 8-byte words read in
  place (equal ids, equal keys; different ids almost never);
- :class:`KeyTable`: the rows of a key column in a few levels of direct-addressed slots
  (each level a table twice the size of the keys it holds; a key whose slot another took
  goes down a level), found for a whole column of keys at once.

Keys are never taken for ids: a key found says where the id may be, and the caller confirms
every id by its bytes (:func:`same_rows`), or takes the exact Arrow path when anything is
left in doubt (a key found twice, a key not found, an id that is not ASCII or longer than
``MAX_BYTES``). The answer is always exact; only the time depends on the keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from common.parallel import map_rows

MAX_BYTES = 64
KEYS_MIN_ROWS = 4096  # below this a hash probe costs less than a table of keys
_MIX = np.uint64(0x9E3779B97F4A7C15)
_FINAL = np.uint64(0xBF58476D1CE4E5B9)
# Per level, the multiplier that spreads a key over the level's slots (odd constants).
_LEVEL_MULTIPLIERS = tuple(
    np.uint64(c)
    for c in (
        1,
        0xD6E8FEB86659FD93,
        0xA0761D6478BD642F,
        0xE7037ED1A0B428DB,
        0x8EBC6AF09C88C6E3,
        0x589965CC75374CC3,
        0x1D8E4E27C47D124F,
        0xC2B2AE3D27D4EB4F,
    )
)
MAX_LEVELS = 40


@dataclass(frozen=True, eq=False)
class IdBytes:
    """An id column as an (n, width) uint8 matrix: each id's bytes, NUL-padded to ``width``;
    ``lengths`` is each id's own length (None: every id is ``width`` bytes)."""

    rows: np.ndarray
    lengths: np.ndarray | None

    @property
    def width(self) -> int:
        return int(self.rows.shape[1])


def _offsets(array: pa.Array) -> np.ndarray:
    return np.frombuffer(
        array.buffers()[1], dtype=np.int32, count=len(array) + 1, offset=array.offset * 4
    )


def id_bytes(ids: pa.Array, *, width: int | None = None) -> IdBytes | None:
    """The ids' bytes as a matrix (module docstring), ``width`` bytes wide (default: the
    longest id's), or None: not text, a missing id, an empty column, an id longer than
    ``MAX_BYTES`` or than ``width``, or ids to pad that are not all ASCII (padding counts
    characters)."""
    parts = id_parts([ids], width=width)
    return None if parts is None else parts[0]


def id_parts(chunks: list[pa.Array], *, width: int | None = None) -> list[IdBytes] | None:
    """:func:`id_bytes` of a column in ``chunks`` (none empty), in order: a view of each
    chunk when every id is ``width`` bytes long, else all of them padded into one matrix
    (one allocation and one pass of keys for the column, not one per chunk); None as
    :func:`id_bytes` says."""
    read: list[tuple[np.ndarray, np.ndarray]] = []
    for chunk in chunks:
        found = _raw_and_lengths(chunk)
        if found is None:
            return None
        read.append(found)
    if not read:
        return None
    longest = max(int(lengths.max()) for _, lengths in read)
    width = longest if width is None else width
    if longest == 0 or longest > min(width, MAX_BYTES):
        return None
    if all(int(lengths.min()) == width for _, lengths in read):
        return [
            IdBytes(rows=raw.reshape(len(chunk), width), lengths=None)
            for chunk, (raw, _) in zip(chunks, read, strict=True)
        ]
    if any(raw.size and int(raw.max()) >= 0x80 for raw, _ in read):
        return None
    lengths = np.concatenate([lengths for _, lengths in read], dtype=np.int32)
    return [IdBytes(rows=_padded(chunks, width), lengths=lengths)]


def id_bytes_at(ids: pa.Array, rows: np.ndarray) -> IdBytes | None:
    """``id_bytes(ids)`` at ``rows`` only (those rows of its matrix, of the same width,
    and their lengths), without a padded copy of the other ids; None where ``id_bytes``
    gives None."""
    found = _raw_and_lengths(ids)
    if found is None:
        return None
    raw, lengths = found
    width = int(lengths.max())
    if width == 0 or width > MAX_BYTES:
        return None
    if int(lengths.min()) == width:
        return IdBytes(rows=raw.reshape(len(ids), width)[rows], lengths=None)
    if raw.size and int(raw.max()) >= 0x80:  # ids to pad must be ASCII (id_parts)
        return None
    picked = id_parts([ids.take(pa.array(rows))], width=width)
    if picked is None:
        return None
    return IdBytes(rows=picked[0].rows, lengths=lengths[rows].astype(np.int32))


def _raw_and_lengths(ids: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """A chunk's UTF-8 bytes and each id's length, or None (not text, empty, missing ids)."""
    if ids.type != pa.string() or len(ids) == 0 or ids.null_count:
        return None
    offsets = _offsets(ids)
    start, stop = int(offsets[0]), int(offsets[-1])
    raw = np.frombuffer(ids.buffers()[2], dtype=np.uint8, count=stop - start, offset=start)
    return raw, np.diff(offsets)


def _padded(chunks: list[pa.Array], width: int) -> np.ndarray:
    """The ids of ``chunks`` NUL-padded to ``width`` bytes by Arrow (ASCII ids), as one
    (n, width) matrix, padded block by block, on the threads when worth it. Padding all at
    once wrote a fresh buffer of Arrow's as large (and page faults are most of the cost:
    0.05-0.06 s for 3M free strings); per block, Arrow reuses one small buffer and numpy's
    matrix takes large pages: 0.016 s on two threads, 0.028 s on one."""
    sizes = [len(chunk) for chunk in chunks]
    n = sum(sizes)
    out = np.empty((n, width), dtype=np.uint8)

    def pad(rows: slice) -> None:
        for index, first, start, stop in _blocks(sizes, rows, _PAD_ROWS):
            count = stop - start
            padded = pc.ascii_rpad(
                chunks[index].slice(start - first, count), width=width, padding="\x00"
            )
            at = int(_offsets(padded)[0])
            data = padded.buffers()[2]
            block = np.frombuffer(data, dtype=np.uint8, count=width * count, offset=at)
            out[start:stop] = block.reshape(count, width)

    map_rows(pad, n, per_row=width, align=_PAD_ROWS)
    return out


_PAD_ROWS = 1 << 16


def _blocks(sizes: list[int], rows: slice, block: int) -> Iterator[tuple[int, int, int, int]]:
    """The rows ``rows`` of a column held in parts of ``sizes`` rows, in blocks of at most
    ``block`` rows that each lie in one part: ``(part, the part's first row, start, stop)``,
    rows counted over the whole column."""
    first = 0
    for index, size in enumerate(sizes):
        low, high = max(rows.start, first), min(rows.stop, first + size)
        for start in range(low, high, block):
            yield index, first, start, min(start + block, high)
        first += size


def _words(rows: np.ndarray) -> list[np.ndarray]:
    """The rows' bytes as 8-byte words read in place: every whole word, and one more
    ending at the row's end (overlapping the one before) when the width is not a multiple
    of 8. Rows narrower than 8 bytes are copied into one zero-padded word."""
    n, width = rows.shape
    if width < 8:
        word = np.zeros((n, 8), dtype=np.uint8)
        word[:, :width] = rows
        return [word.view(np.uint64).ravel()]
    base = rows if rows.flags.c_contiguous else np.ascontiguousarray(rows)
    starts = list(range(0, width - 7, 8))
    if width % 8:
        starts.append(width - 8)
    return [
        np.ndarray(shape=(n,), dtype=np.uint64, buffer=base, offset=s, strides=(width,))
        for s in starts
    ]


def id_keys(found: IdBytes) -> np.ndarray:
    """One uint64 key per id: its length and words mixed, in cache-sized blocks written in
    place (on as many threads as there are): each step over a whole column made a
    column-sized temporary (3M free strings: 0.023-0.042 s; in blocks 0.013-0.016 s)."""
    n = found.rows.shape[0]
    out = np.empty(n, dtype=np.uint64)

    def part(rows: slice) -> None:
        shifted = np.empty(min(_KEY_ROWS, rows.stop - rows.start), dtype=np.uint64)
        for start in range(rows.start, rows.stop, _KEY_ROWS):
            stop = min(start + _KEY_ROWS, rows.stop)
            key, spare = out[start:stop], shifted[: stop - start]
            if found.lengths is None:
                key.fill(found.width)
            else:
                np.copyto(key, found.lengths[start:stop], casting="unsafe")
            with np.errstate(over="ignore"):
                for word in _words(found.rows[start:stop]):
                    key ^= word
                    key *= _MIX
                    np.right_shift(key, np.uint64(29), out=spare)
                    key ^= spare
                key *= _FINAL
                np.right_shift(key, np.uint64(32), out=spare)
                key ^= spare

    map_rows(part, n, per_row=max(1, found.width // 8), align=_KEY_ROWS)
    return out


_KEY_ROWS = 1 << 15


def _slots(keys: np.ndarray, level: int, bits: int) -> np.ndarray:
    multiplier = _LEVEL_MULTIPLIERS[level % len(_LEVEL_MULTIPLIERS)]
    with np.errstate(over="ignore"):
        mixed = keys * multiplier if level else keys
        if level >= len(_LEVEL_MULTIPLIERS):  # past the constants: rotate first
            mixed = (mixed << np.uint64(level)) | (mixed >> np.uint64(64 - level))
    return (mixed >> np.uint64(64 - bits)).view(np.int64)  # under 2**bits: the same values


class KeyTable:
    """Where each key of a column is: built once (:meth:`build`), asked for many keys at
    once (:meth:`find`). Each slot holds a row and 31 more bits of its key (its low bits:
    the slot is chosen by its high bits), so one random read per key and level answers;
    a key equal in those bits only is caught by the caller's confirmation of the ids.
    Equal keys of different rows keep one row."""

    def __init__(self, levels: list[tuple[int, np.ndarray]]) -> None:
        self.levels = levels

    @classmethod
    def build(cls, keys: np.ndarray) -> KeyTable | None:
        """The table of ``keys`` (fewer than 2^31); None when more than ``MAX_LEVELS``
        levels would be needed (the caller takes the exact path)."""
        if keys.size >= 2**31:
            return None
        rows: np.ndarray | None = None  # the rows of ``left`` (None: all, in order)
        left = keys
        levels: list[tuple[int, np.ndarray]] = []
        while left.size:
            if len(levels) == MAX_LEVELS:
                return None
            bits = max(4, int(left.size - 1).bit_length() + 1)
            table, lost_at = _level(left, rows, len(levels), bits)
            if lost_at.size:  # equal keys of several rows: one won, the others go nowhere
                occupant = table[_slots(left[lost_at], len(levels), bits)] & _ROW_MASK
                lost_at = lost_at[keys[occupant] != left[lost_at]]
            levels.append((bits, table))
            rows = lost_at if rows is None else rows[lost_at]
            left = left[lost_at]
        return cls(levels)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Per key, a row of the table's column whose key may equal it, or -1. A slot's
        high half equal to the key's fingerprint is a hit (an empty slot, -1, or any
        negative entry never equals a fingerprint, which is under 2**31)."""
        return np.concatenate(map_rows(lambda rows: self._find(keys[rows]), keys.size, per_row=2))

    def _find(self, wanted: np.ndarray) -> np.ndarray:
        """:meth:`find` of ``wanted``, on this thread."""
        out = np.full(wanted.size, -1, dtype=np.int64)
        expected = _fingerprint(wanted) << 32
        at: np.ndarray | None = None  # the rows still looked for (None: all of them)
        for level, (bits, table) in enumerate(self.levels):
            entry = np.take(table, _slots(wanted, level, bits), mode="clip")
            hit = (entry & _HIGH) == expected
            if at is None:
                np.copyto(out, entry & _ROW_MASK, where=hit)
            else:
                out[at[hit]] = entry[hit] & _ROW_MASK
            left = np.flatnonzero(~hit)
            if not left.size:
                break
            at = left if at is None else at[left]
            wanted, expected = wanted[left], expected[left]
        return out

    def all_own(self, keys: np.ndarray) -> bool:
        """Whether each of the keys the table was built of finds its own row: then they are
        pairwise distinct, and so are their ids (equal keys keep one row; a key finding
        another's row is equal to it, or shares its slot and 31 bits: doubt either way).
        Asked a block at a time, on the threads: no answer of the column's size."""

        def own(rows: slice) -> bool:
            for start in range(rows.start, rows.stop, _BUILD_ROWS):
                stop = min(start + _BUILD_ROWS, rows.stop)
                if not np.array_equal(self._find(keys[start:stop]), np.arange(start, stop)):
                    return False
            return True

        return all(map_rows(own, keys.size, per_row=2, align=_BUILD_ROWS))


_BUILD_ROWS = 1 << 20  # keys a block when a level is filled or read back
_ROW_MASK = np.int64(0xFFFFFFFF)
_HIGH = ~_ROW_MASK  # a slot's fingerprint half


def _fingerprint(keys: np.ndarray) -> np.ndarray:
    return (keys & np.uint64(0x7FFFFFFF)).view(np.int64)


def _entries(keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return (_fingerprint(keys) << 32) | rows


def _level(
    keys: np.ndarray, rows: np.ndarray | None, level: int, bits: int
) -> tuple[np.ndarray, np.ndarray]:
    """One level of a :class:`KeyTable` of ``keys`` (of the column's ``rows``; None: rows
    0, 1, ...), and the positions in ``keys`` of those whose slot another took. Filled a
    block at a time, in order (a slot two keys want keeps the later one, as one whole
    assignment would), then read back a block at a time: nothing of the column's size
    but the level itself (at 10M UUIDs the level is 256 MB; the column-sized slots,
    entries and rows of a one-pass fill took 0.3 GB more at the import's peak)."""
    # From Arrow's pool, which hands back pages already in use where a fresh array's are
    # faulted in and zeroed (256 MB at 10M keys).
    table = np.frombuffer(pa.allocate_buffer(8 << bits), dtype=np.int64)
    table.fill(-1)
    blocks = [slice(s, min(s + _BUILD_ROWS, keys.size)) for s in range(0, keys.size, _BUILD_ROWS)]

    def placed(block: slice) -> tuple[np.ndarray, np.ndarray]:
        mine = np.arange(block.start, block.stop) if rows is None else rows[block]
        return _slots(keys[block], level, bits), _entries(keys[block], mine)

    for block in blocks:
        slots, entries = placed(block)
        table[slots] = entries
    lost = []
    for block in blocks:
        slots, entries = placed(block)
        lost.append(np.flatnonzero(table[slots] != entries) + block.start)
    return table, np.concatenate(lost) if lost else np.empty(0, dtype=np.int64)


def same_rows(parts: list[IdBytes], solution: IdBytes, positions: np.ndarray) -> bool:
    """Whether id ``i`` of ``parts`` (one column in parts, in order) is byte for byte id
    ``positions[i]`` of ``solution`` (bytes and lengths; ``positions`` may be any rows).

    Compared in cache-sized blocks of the parts' rows, on the threads: per block, the
    solution's rows at its positions gathered (one random read of ``width`` bytes each) and
    compared in place with the block. A whole scatter of the rows into solution order and
    one comparison of two full copies cost a fresh 3M x 36-byte array and a bool array as
    large, whose page faults alone took most of 0.5 s in a cold command; the blocks take
    0.05 s on two cores."""
    width = solution.width
    if any(part.width != width for part in parts):
        return False
    if sum(part.rows.shape[0] for part in parts) != positions.size:
        return False
    records = np.ascontiguousarray(solution.rows).view(f"V{width}").ravel()
    for part in parts:
        # Every solution id ``width`` bytes long: a shorter id is none of them.
        shorter = part.lengths is not None and solution.lengths is None
        if shorter and not bool((part.lengths == width).all()):
            return False
    sizes = [part.rows.shape[0] for part in parts]

    def compare(rows: slice) -> bool:
        for index, first, start, stop in _blocks(sizes, rows, _BLOCK_ROWS):
            part, mine = parts[index], slice(start - first, stop - first)
            where = positions[start:stop]
            theirs = np.take(records, where).view(np.uint8).reshape(-1, width)
            if not np.array_equal(theirs, part.rows[mine]):
                return False
            if solution.lengths is not None:
                lengths = np.take(solution.lengths, where)
                if part.lengths is None:
                    if not bool((lengths == width).all()):
                        return False
                elif not np.array_equal(lengths, part.lengths[mine]):
                    return False
        return True

    return all(map_rows(compare, positions.size, per_row=width, align=_BLOCK_ROWS))


_BLOCK_ROWS = 1 << 14  # a block's gathered rows and its comparison stay in the cache
