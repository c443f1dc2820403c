"""``common.idkeys.same_rows`` against a plain Python reference: id ``i`` of the parts is
byte for byte id ``positions[i]`` of the solution, for random ids and near misses (one
byte, one length, NUL padding), over several parts and more rows than one block."""

from __future__ import annotations

import zlib

import numpy as np
import pyarrow as pa
import pytest

from common import idkeys


def reference(parts: list[list[str]], solution: list[str], positions: np.ndarray) -> bool:
    ids = [i for part in parts for i in part]
    if len(ids) != len(positions):
        return False
    return all(
        a.encode("utf-8") == solution[p].encode("utf-8")
        for a, p in zip(ids, positions.tolist(), strict=True)
    )


def keyed(parts: list[list[str]], solution: list[str], positions: np.ndarray) -> bool | None:
    """``same_rows`` as ``permutation_by_keys`` calls it; None when the ids cannot be
    keyed at all (too long, not ASCII to pad: the caller takes the exact path)."""
    mine = idkeys.id_bytes(pa.array(solution, pa.string()))
    if mine is None:
        return None
    theirs = [idkeys.id_bytes(pa.array(p, pa.string()), width=mine.width) for p in parts]
    if any(part is None for part in theirs):
        return None
    return idkeys.same_rows(theirs, mine, positions)  # type: ignore[arg-type]


def random_ids(rng: np.random.Generator, n: int, *, fixed: int | None) -> list[str]:
    alphabet = np.array(list("abcXYZ019-_\x00 "))
    ids = set()
    while len(ids) < n:
        length = fixed if fixed is not None else int(rng.integers(0, 12))
        ids.add("".join(rng.choice(alphabet, size=length)))
    return sorted(ids, key=lambda _: rng.random())


def split(ids: list[str], rng: np.random.Generator) -> list[list[str]]:
    cuts = sorted(rng.choice(np.arange(1, len(ids)), size=3, replace=False).tolist())
    return [ids[a:b] for a, b in zip([0, *cuts], [*cuts, len(ids)], strict=True)]


NEAR_MISSES = {
    "same": lambda ids, i, rng: ids,
    "one byte differs": lambda ids, i, rng: [
        *ids[:i],
        ids[i][:-1] + ("a" if ids[i][-1:] != "a" else "b"),
        *ids[i + 1 :],
    ],
    "one byte more": lambda ids, i, rng: [*ids[:i], ids[i] + "a", *ids[i + 1 :]],
    "a NUL more": lambda ids, i, rng: [*ids[:i], ids[i] + "\x00", *ids[i + 1 :]],
    "a byte less": lambda ids, i, rng: [*ids[:i], ids[i][:-1], *ids[i + 1 :]],
    "two swapped": lambda ids, i, rng: [*ids[:i], ids[i + 1], ids[i], *ids[i + 2 :]],
    "one id fewer": lambda ids, i, rng: ids[:-1],
}


@pytest.mark.parametrize("fixed", [None, 9, 16], ids=["free", "width-9", "width-16"])
@pytest.mark.parametrize("miss", list(NEAR_MISSES))
def test_same_rows_agrees_with_a_byte_by_byte_reference(fixed, miss):
    rng = np.random.default_rng(zlib.crc32(f"{fixed}{miss}".encode()))
    for n in (5, 20_000):  # one block, then more than one block in several parts
        solution = random_ids(rng, n, fixed=fixed)
        positions = rng.permutation(n)
        submitted = [solution[p] for p in positions.tolist()]
        at = int(rng.integers(0, n - 2))
        if not solution[positions[at]]:  # an empty id has no last byte to change
            continue
        changed = NEAR_MISSES[miss](submitted, at, rng)
        parts = split(changed, rng)
        got = keyed(parts, solution, positions)
        if got is None:  # an id longer than the solution's, a part of empty ids: not keyed
            assert miss in ("one byte more", "a NUL more") or any(not any(part) for part in parts)
            continue
        assert got == reference(parts, solution, positions), (miss, n)
        assert got == (miss == "same"), (miss, n)


def test_nul_padding_never_passes_for_the_bytes_it_pads():
    """Ids are NUL-padded to one width: ``ab`` and ``ab\\0`` pad alike, their lengths
    do not."""
    solution = ["ab\x00", "xyz", "q"]
    assert keyed([["ab", "xyz", "q"]], solution, np.array([0, 1, 2])) is False
    assert keyed([["ab\x00"], ["xyz", "q"]], solution, np.array([0, 1, 2])) is True
    full = ["abc", "xyz", "qrs"]  # every solution id is the full width
    assert keyed([["ab", "xyz", "qrs"]], full, np.array([0, 1, 2])) is False
    assert keyed([["ab\x00", "xyz", "qrs"]], ["ab\x00", "xyz", "qrs"], np.arange(3)) is True


def test_positions_and_parts_must_have_the_same_count():
    solution = ["a", "b", "c"]
    assert keyed([["a", "b"]], solution, np.array([0, 1, 2])) is False
    assert keyed([["a", "b", "c"]], solution, np.array([0, 1])) is False


@pytest.mark.parametrize("block", [1, 7, 1 << 20])
def test_a_key_table_filled_block_by_block_is_the_table_of_one_fill(block, monkeypatch):
    """``KeyTable.build`` fills each level a block at a time (``_BUILD_ROWS``): whatever
    the block, the levels are the ones a single fill in row order makes (equal keys and
    slots wanted twice included), and every key finds its own row."""
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 2**63, 5000, dtype=np.int64).view(np.uint64)
    keys[:1500] &= np.uint64(0xFFF)  # many keys wanting the same slots, some equal
    keys[4000:4010] = keys[10:20]  # equal keys of other rows: one row kept each

    def one_fill(keys: np.ndarray) -> list[tuple[int, np.ndarray]]:
        rows, left, levels = np.arange(keys.size), keys, []
        while rows.size:
            bits = max(4, int(rows.size - 1).bit_length() + 1)
            slots = idkeys._slots(left, len(levels), bits)
            entries = idkeys._entries(left, rows)
            table = np.full(1 << bits, -1, dtype=np.int64)
            table[slots] = entries
            lost = table[slots] != entries
            lost_at = np.flatnonzero(lost)
            occupant = table[slots[lost_at]] & idkeys._ROW_MASK
            lost[lost_at[keys[occupant] == left[lost_at]]] = False
            levels.append((bits, table))
            rows, left = rows[lost], left[lost]
        return levels

    monkeypatch.setattr(idkeys, "_BUILD_ROWS", block)
    built = idkeys.KeyTable.build(keys)
    expected = one_fill(keys)
    assert [bits for bits, _ in built.levels] == [bits for bits, _ in expected]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(built.levels, expected, strict=True))
    distinct = np.unique(keys)
    assert idkeys.KeyTable.build(distinct).all_own(distinct)
    assert not built.all_own(keys)  # equal keys: one row each, the other rows unfound
