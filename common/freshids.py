"""Fresh ids that look like a task's own: new rows (a stress test set's copies) must not be
told from the clean rows by the shape of their ids, and must not name any clean row.

``fresh_ids(templates, avoid=..., rng=...)`` gives one id per template, of the template's
shape: every ASCII digit drawn again (a digit run's first digit stays non-zero when the
template's was, so ``17`` never becomes ``07``), and, in an id without digits, every ASCII
letter drawn again in its case. Prefixes, separators and other characters stay: ``t000123``
becomes ``t583920``, ``row-17`` becomes ``row-93``, an integer stays an integer. Ids that
collide with ``avoid`` or with each other are drawn again; when the shape has too little
room (every 3-digit id already taken) a digit is added, the one change of shape allowed.
Vectorized over the ids' bytes (:mod:`common.strbytes`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from common.strbytes import owners, run_starts, string_array, string_bytes, string_hashes

ROUNDS = 8  # draws before a colliding id is given one more digit
WIDENINGS = 6

_DIGIT = (48, 58)
_LOWER = (97, 123)
_UPPER = (65, 91)


def _between(data: np.ndarray, bounds: tuple[int, int]) -> np.ndarray:
    return (data >= bounds[0]) & (data < bounds[1])


def _variable(offsets: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bytes drawn again (digits; letters in an id without digits) and the digit-run starts
    that must stay non-zero."""
    digits = _between(data, _DIGIT)
    owner = owners(offsets)
    has_digit = np.bincount(owner[digits], minlength=len(offsets) - 1) > 0
    letters = (_between(data, _LOWER) | _between(data, _UPPER)) & ~has_digit[owner]
    lead = run_starts(digits, offsets) & (data != 48)
    return digits | letters, lead


def _draw(data: np.ndarray, at: np.ndarray, lead: np.ndarray, rng: np.random.Generator) -> None:
    """Draw the bytes at positions ``at`` again, in place, each in its own class (a digit
    run's first digit non-zero where ``lead`` says so)."""
    values = data[at]
    for low, high in (_DIGIT, _LOWER, _UPPER):
        cls = (values >= low) & (values < high)
        values[cls] = rng.integers(low, high, size=int(cls.sum()), dtype=np.uint8)
    nonzero = lead[at]
    values[nonzero] = rng.integers(49, 58, size=int(nonzero.sum()), dtype=np.uint8)
    data[at] = values


def _positions(offsets: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The byte positions of the values ``rows`` (ascending)."""
    if rows.size == len(offsets) - 1:
        return np.arange(int(offsets[-1]), dtype=np.int64)
    lengths = np.diff(offsets)[rows]
    starts = np.cumsum(lengths) - lengths
    within = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(starts, lengths)
    return np.repeat(offsets[:-1][rows], lengths) + within


def _subset(
    offsets: np.ndarray, data: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The offsets and bytes of the values ``rows`` (ascending) alone."""
    if rows.size == len(offsets) - 1:
        return offsets, data
    lengths = np.diff(offsets)[rows]
    sub_offsets = np.zeros(rows.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=sub_offsets[1:])
    return sub_offsets, data[_positions(offsets, rows)]


def _clashes(hashes: np.ndarray, taken: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """True for each hash in one of the ``taken`` arrays (each sorted) or equal to an
    earlier one of ``hashes``, and the hashes that do not clash, sorted. A hash collision
    of two different ids only costs the later one a second draw. The queries are searched
    in sorted order (a sorted search of sorted queries walks the table once instead of
    missing the cache per query)."""
    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    bad = np.zeros(ordered.size, dtype=bool)
    if ordered.size > 1:
        bad[1:] = ordered[1:] == ordered[:-1]  # a later copy of the same id
    for table in taken:
        if table.size:
            at = np.minimum(np.searchsorted(table, ordered), table.size - 1)
            bad |= table[at] == ordered
    clash = np.empty(hashes.size, dtype=bool)
    clash[order] = bad
    return clash, ordered[~bad]


def _widen(
    offsets: np.ndarray, data: np.ndarray, rows: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each id of ``rows`` with one more digit, a non-zero one: before its last digit run
    (``row-0`` -> ``row-30``, which the next draw makes ``row-57``), or at its end when it has
    none."""
    digits = _between(data, _DIGIT)
    owner = owners(offsets)
    ends = offsets[1:].copy()
    starts = np.flatnonzero(run_starts(digits, offsets))
    if starts.size:
        last = np.full(len(offsets) - 1, -1, dtype=np.int64)
        last[owner[starts]] = starts  # the last start of each id wins (ascending order)
        has = last >= 0
        ends[has] = last[has]
    at = ends[rows]
    values = rng.integers(49, 58, size=rows.size, dtype=np.uint8)
    order = np.argsort(at, kind="stable")
    data = np.insert(data, at[order], values[order])
    added = np.zeros(len(offsets) - 1, dtype=np.int64)
    added[rows] = 1
    new_offsets = offsets.copy()
    new_offsets[1:] += np.cumsum(added)
    return new_offsets, data


def fresh_ids(
    templates: pa.Array | pa.ChunkedArray,
    *,
    avoid: Sequence[pa.Array | pa.ChunkedArray] = (),
    rng: np.random.Generator,
) -> pa.Array:
    """One new id per template id (text without nulls), of its shape (see the module),
    distinct from each other and from every id of ``avoid``."""
    offsets, data = string_bytes(templates)
    data = data.copy()
    avoid_hashes = np.sort(
        np.concatenate([np.zeros(0, np.uint64)] + [string_hashes(*string_bytes(a)) for a in avoid])
    )
    n = len(offsets) - 1
    rows = np.arange(n)
    taken = [avoid_hashes]  # sorted arrays: the ids to avoid, then each round's accepted ones
    for widening in range(WIDENINGS + 1):
        variable, lead = _variable(offsets, data)  # the templates' shape, before any draw
        for _ in range(ROUNDS):
            at = _positions(offsets, rows)
            _draw(data, at[variable[at]], lead, rng)
            clash, accepted = _clashes(string_hashes(*_subset(offsets, data, rows)), taken)
            taken.append(accepted)
            rows = rows[clash]
            if rows.size == 0:
                return string_array(offsets, data)
        if widening < WIDENINGS:
            offsets, data = _widen(offsets, data, rows, rng)
    raise ValueError(f"{rows.size} fresh ids could not be drawn apart from the existing ones")
