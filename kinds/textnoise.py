"""Text and value perturbations shared by the kinds' stress families (docs/organizers/stress.md).

Pure and vectorized: each function takes an Arrow column of one family's rows, a
``strength`` in (0, 1] and a ``numpy.random.Generator``, and returns a column of the same
length and type, nulls kept. The text edits change every value they can (a value with no
letter cannot get a typo; a one-word value loses no word), so a family's copies differ from
their originals wherever the family applies:

- :func:`typos`: character typos on ASCII letters (deletion, doubling, substitution,
  transposition), one per value and more at ``0.2 x strength`` per letter; done on the
  values' UTF-8 bytes (:mod:`common.strbytes`), so a million values take a few numpy passes.
- :func:`token_drop`: words (split on spaces) dropped at ``0.3 x strength`` each, one at
  least, never every word.
- :func:`abbreviate`: words of 4+ characters that start with a letter shortened to their
  initial or first three characters and a dot (``International`` -> ``I.`` or ``Int.``),
  one at least, others at ``0.5 x strength``.
- :func:`case_punct`: the value in lower, upper or title case, then, at ``strength``, its
  punctuation removed, its spaces doubled or a comma appended; a value left equal gets a
  trailing comma.
- :func:`transliterate`: non-ASCII text written in ASCII by ``unidecode`` (``Müller`` ->
  ``Muller``, ``Москва`` -> ``Moskva``), once per distinct value.
- :func:`numeric_noise`, :func:`unseen_levels`, :func:`blank`: the non-text edits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from unidecode import unidecode

from common.strbytes import string_array, string_bytes

Column = pa.Array | pa.ChunkedArray

_UPPER = (65, 91)
_LOWER = (97, 123)
_LETTER = np.zeros(256, dtype=bool)  # a byte's class by lookup: one pass over the bytes
_LETTER[_UPPER[0] : _UPPER[1]] = True
_LETTER[_LOWER[0] : _LOWER[1]] = True


def _array(values: Column) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    return values


def _nulls(values: pa.Array) -> np.ndarray:
    return np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _segment_pick(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per segment with ``counts[i]`` items, a random item index in [0, counts[i]) (0 for
    an empty segment)."""
    return np.floor(rng.random(counts.size) * counts).astype(np.int64)


# --- characters -----------------------------------------------------------------------------


def typos(values: Column, *, strength: float, rng: np.random.Generator) -> pa.Array:
    """Character typos on the ASCII letters of each value (see the module). The letters'
    positions are listed once; the typos are drawn among them (a binomial count, then
    positions), so the cost is a few passes over the bytes, whatever the strength."""
    values = _array(values)
    nulls = _nulls(values)
    offsets, data = string_bytes(values)
    data = data.copy()
    letters = np.flatnonzero(_LETTER[data])
    # One typo in every value that has a letter (its k-th letter, k drawn per value), and
    # each letter at 0.2 x strength.
    first = np.searchsorted(letters, offsets[:-1])
    count = np.searchsorted(letters, offsets[1:]) - first
    has = count > 0
    forced = letters[first[has] + _segment_pick(count[has], rng)]
    extra = letters[
        rng.integers(0, max(1, letters.size), rng.binomial(letters.size, 0.2 * strength))
    ]
    edited = np.zeros(data.size, dtype=bool)
    edited[forced] = True
    edited[extra] = True
    at = np.flatnonzero(edited)
    op = rng.integers(0, 4, size=at.size)
    substitute = at[op == 2]
    base = np.where(data[substitute] < _LOWER[0], _UPPER[0], _LOWER[0]).astype(np.int64)
    shift = rng.integers(1, 26, size=substitute.size)
    data[substitute] = (base + (data[substitute] - base + shift) % 26).astype(np.uint8)
    swap = at[op == 3]
    value_end = offsets[np.searchsorted(offsets, swap, side="right")]  # end of its value
    nxt = np.minimum(swap + 1, max(data.size - 1, 0))
    neighbour = data[nxt]
    ok = (swap + 1 < value_end) & _LETTER[neighbour] & (neighbour != data[swap]) & ~edited[nxt]
    left, right = swap[ok], swap[ok] + 1
    data[left], data[right] = data[right].copy(), data[left].copy()
    deleted = at[op == 0]
    doubled = np.sort(np.concatenate([at[op == 1], swap[~ok]]))  # no neighbour: doubled
    keep = np.ones(data.size, dtype=bool)
    keep[deleted] = False
    out = np.insert(
        data[keep], doubled - np.searchsorted(deleted, doubled), data[doubled]
    )  # a doubled letter's copy goes in before it
    moved = np.searchsorted(doubled, offsets) - np.searchsorted(deleted, offsets)
    return string_array(offsets + moved, out, nulls)


def transliterate(values: Column) -> pa.Array:
    """Non-ASCII text in ASCII (``unidecode``, a table from character to text), each
    distinct word converted once: a catalog's values are many, its words few."""
    values = _array(values).cast(pa.string())
    if pc.all(pc.fill_null(pc.string_is_ascii(values), True)).as_py() is not False:
        return values
    nulls = _nulls(values)
    words, offsets, _ = _tokens(values)
    encoded = pc.dictionary_encode(words)
    dictionary = encoded.dictionary
    ascii_ = np.asarray(pc.string_is_ascii(dictionary).to_numpy(zero_copy_only=False), dtype=bool)
    converted = [
        value if plain else unidecode(value)
        for value, plain in zip(dictionary.to_pylist(), ascii_, strict=True)
    ]
    words = pa.array(converted, pa.string()).take(encoded.indices)
    return _joined(words, np.ones(len(words), dtype=bool), offsets, nulls)


def non_ascii(values: Column) -> np.ndarray:
    """True for each value with a character outside ASCII (what :func:`transliterate` changes)."""
    values = _array(values).cast(pa.string())
    return ~np.asarray(
        pc.fill_null(pc.string_is_ascii(values), True).to_numpy(zero_copy_only=False), dtype=bool
    )


# --- words -----------------------------------------------------------------------------------


def _tokens(values: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """The words of each value (split on single spaces), their row offsets, and per word its
    index within its value."""
    lists = pc.split_pattern(pc.fill_null(values.cast(pa.string()), ""), " ")
    flat = lists.flatten()
    offsets = np.asarray(lists.offsets.to_numpy(), dtype=np.int64) - int(lists.offsets[0].as_py())
    counts = np.diff(offsets)
    index = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1], counts)
    return flat, offsets, index


def _joined(words: pa.Array, keep: np.ndarray, offsets: np.ndarray, nulls: np.ndarray) -> pa.Array:
    """The kept words of each value joined by spaces (every value has a word: ``""`` splits
    into one)."""
    sums = np.zeros(keep.size + 1, dtype=np.int64)
    np.cumsum(keep, out=sums[1:])
    counts = sums[offsets[1:]] - sums[offsets[:-1]]
    new_offsets = np.zeros(len(offsets), dtype=np.int32)
    np.cumsum(counts, out=new_offsets[1:])
    lists = pa.ListArray.from_arrays(pa.array(new_offsets), words.filter(pa.array(keep)))
    joined = pc.binary_join(lists, " ")
    if nulls.any():
        joined = pc.if_else(pa.array(nulls), pa.scalar(None, pa.string()), joined)
    return joined


def token_drop(values: Column, *, strength: float, rng: np.random.Generator) -> pa.Array:
    """Words dropped (see the module): one at least from every value of 2+ words, never all."""
    values = _array(values)
    nulls = _nulls(values)
    words, offsets, index = _tokens(values)
    counts = np.diff(offsets)
    keeper = _segment_pick(counts, rng)  # never dropped
    forced = (keeper + 1 + _segment_pick(np.maximum(counts - 1, 0), rng)) % np.maximum(counts, 1)
    per_word = np.repeat(np.arange(counts.size), counts)
    drop = (rng.random(index.size) < 0.3 * strength) | (index == forced[per_word])
    drop &= (index != keeper[per_word]) & (counts[per_word] >= 2)
    return _joined(words, ~drop, offsets, nulls)


def abbreviate(values: Column, *, strength: float, rng: np.random.Generator) -> pa.Array:
    """Long words shortened to an initial or three letters and a dot (see the module)."""
    values = _array(values)
    nulls = _nulls(values)
    words, offsets, _ = _tokens(values)
    counts = np.diff(offsets)
    long_ = np.asarray(
        pc.and_(
            pc.greater_equal(pc.utf8_length(words), 4),
            pc.utf8_is_alpha(pc.utf8_slice_codeunits(words, 0, 1)),
        ).to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    key = np.where(long_, rng.random(long_.size), -1.0)
    per_word = np.repeat(np.arange(counts.size), counts)
    # Every value has a word ("" splits into one), so each segment of reduceat is non-empty.
    best = np.maximum.reduceat(key, offsets[:-1]) if key.size else np.zeros(0)
    chosen = long_ & ((key == best[per_word]) | (rng.random(long_.size) < 0.5 * strength))
    initial = rng.random(long_.size) < 0.5

    def shortened(picked: pa.Array, rows: np.ndarray) -> pa.Array:
        one = pc.binary_join_element_wise(pc.utf8_slice_codeunits(picked, 0, 1), ".", "")
        three = pc.binary_join_element_wise(pc.utf8_slice_codeunits(picked, 0, 3), ".", "")
        return pc.if_else(pa.array(initial[rows]), one, three)

    changed = _on(words, chosen, shortened)
    return _joined(changed, np.ones(long_.size, dtype=bool), offsets, nulls)


def _on(
    values: pa.Array, mask: np.ndarray, edit: Callable[[pa.Array, np.ndarray], pa.Array]
) -> pa.Array:
    """``values`` with ``edit(values[mask], rows)`` in place of the rows ``mask`` selects:
    an edit costs what its rows hold, not the whole column."""
    rows = np.flatnonzero(mask)
    if not rows.size:
        return values
    edited = edit(values.take(pa.array(rows)), rows).cast(values.type)
    index = np.arange(len(values), dtype=np.int64)
    index[rows] = len(values) + np.arange(rows.size)
    return pa.concat_arrays([values, edited]).take(pa.array(index))


def case_punct(values: Column, *, strength: float, rng: np.random.Generator) -> pa.Array:
    """Case, whitespace and punctuation noise (see the module)."""
    values = _array(values).cast(pa.string())
    n = len(values)
    case = rng.integers(0, 3, size=n)
    out = pc.if_else(
        pa.array(case == 0),
        pc.utf8_lower(values),
        pc.if_else(pa.array(case == 1), pc.utf8_upper(values), pc.utf8_title(values)),
    )
    noise = rng.random(n) < strength
    how = rng.integers(0, 3, size=n)
    out = _on(out, noise & (how == 0), lambda v, _: pc.replace_substring_regex(v, r"[^\w\s]", ""))
    out = _on(out, noise & (how == 1), lambda v, _: pc.replace_substring(v, " ", "  "))
    out = _on(out, noise & (how == 2), lambda v, _: pc.binary_join_element_wise(v, ",", ""))
    same = np.asarray(
        pc.fill_null(pc.equal(out, values), False).to_numpy(zero_copy_only=False), dtype=bool
    )
    return pc.if_else(pa.array(same), pc.binary_join_element_wise(values, ",", ""), out)


# --- other values ----------------------------------------------------------------------------


def blank(values: Column) -> pa.Array:
    """Every value null (a missing attribute or modality)."""
    values = _array(values)
    return pa.nulls(len(values), values.type)


def numeric_noise(
    values: Column, *, strength: float, rng: np.random.Generator, spread: float
) -> pa.Array:
    """Gaussian noise of standard deviation ``strength x spread`` (the clean column's
    standard deviation) added to every number; nulls stay null."""
    values = _array(values).cast(pa.float64())
    numbers = values.to_numpy(zero_copy_only=False)
    noisy = numbers + rng.normal(0.0, strength * spread, size=numbers.size)
    return pa.array(noisy, pa.float64(), mask=_nulls(values))


def unseen_levels(values: Column, *, rng: np.random.Generator, seen: pa.Array) -> pa.Array:
    """Every value a level never seen (absent from ``seen``, the column's training values):
    the value with a short random suffix (``red`` -> ``red-q7x``), so it still reads as a
    level of the column; nulls stay null."""
    values = _array(values).cast(pa.string())
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)
    for _ in range(8):
        codes = letters[rng.integers(0, letters.size, size=(len(values), 3))]
        suffix = pa.array(codes.view("S3").ravel().astype(str), pa.string())
        out = pc.binary_join_element_wise(pc.fill_null(values, "level"), suffix, "-")
        clash = pc.is_in(out, value_set=seen.cast(pa.string()))
        if not pc.any(clash).as_py():
            break
    return pc.if_else(values.is_null(), pa.scalar(None, pa.string()), out)
