"""The bundle's id-set checks: the numbered and same-order shortcuts agree with the sort."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from datasets.core.idset import IdIndex, same_set


def index(ids: list[str]) -> IdIndex:
    return IdIndex(pa.array(ids, pa.string()))


def test_numbered_ids_are_distinct_without_keys():
    ids = index([f"test-{i:09d}" for i in range(5, 1005)])
    assert ids.all_distinct()
    assert not {"keys", "_data", "_offsets"} & set(ids.__dict__)  # no hashing, no copy, no sort


@pytest.mark.parametrize(
    "ids, distinct",
    [
        (["r01", "r02", "r02"], False),  # numbered look, one id twice
        (["r01", "r03", "r02"], True),  # out of order: the sort decides
        (["r01", "r02", "r1"], True),  # another width
        (["r01", "r02", "x03"], True),  # another prefix
        (["r01", "r02", "r0:"], True),  # ":" is no digit
        (["r01", "r01"], False),
    ],
)
def test_anything_not_numbered_takes_the_sort(ids, distinct):
    assert index(ids).all_distinct() is distinct


def test_same_ids_in_the_same_order_pair_without_a_sort():
    ids = [f"a{i}" for i in (3, 1, 2, 9)]
    first, second = index(ids), index(list(ids))
    np.testing.assert_array_equal(same_set(first, second), np.arange(4))
    assert "order" not in first.__dict__ and "order" not in second.__dict__


def test_same_ids_in_another_order_pair_by_row():
    first = index(["a", "b", "c", "d"])
    second = index(["c", "a", "d", "b"])
    where = same_set(first, second)
    np.testing.assert_array_equal(where, [2, 0, 3, 1])


def test_other_ids_do_not_pair():
    assert same_set(index(["a", "b", "c"]), index(["a", "b", "x"])) is None
    assert same_set(index(["a", "b"]), index(["a", "b", "c"])) is None


def test_counted_ids_are_distinct_by_construction_and_keep_their_shape():
    from common.numbered import Counted

    ids = index([f"r{i}" for i in range(0, 3000)])
    assert ids.all_distinct()
    assert isinstance(ids.shape, Counted) and ids.shape.low == 0
    assert not {"keys", "_data", "_offsets", "_table"} & set(ids.__dict__)


@pytest.mark.parametrize(
    "ids, distinct",
    [
        ([f"r{i}" for i in (5, 3, 9, 1)], True),  # integers in another order
        (["r5", "r3", "r5"], False),
        (["r5", "r05"], True),  # one integer, two ids: not this path (padded), still exact
        (["r5", "r3", "r0x5"], True),  # not decimal: not this path
    ],
)
def test_prefixed_integers_in_any_order(ids, distinct):
    assert index(ids).all_distinct() is distinct


def uuids(n: int, seed: int = 0) -> list[str]:
    import uuid

    rng = np.random.default_rng(seed)
    return [str(uuid.UUID(int=int(x))) for x in rng.integers(0, 2**62, n)]


@pytest.mark.parametrize("shape", ["uuid", "free"])
def test_ids_of_any_shape_are_proven_distinct_by_keys(shape):
    ids = uuids(5000) if shape == "uuid" else [f"{w}-{i * 7}" for i, w in enumerate("ab" * 2500)]
    assert index(ids).all_distinct()
    assert not index([*ids, ids[1234]]).all_distinct()
    assert not index([*ids[:-1], ids[0]]).all_distinct()
    order = np.random.default_rng(1).permutation(len(ids))
    where = same_set(index(ids), index([ids[i] for i in order]))
    np.testing.assert_array_equal(where, order)
    changed = [ids[i] for i in order]
    changed[7] = changed[7] + "x"
    assert same_set(index(ids), index(changed)) is None


# --- the id column as it is read: held once, joined a chunk at a time ------------------------


def test_text_chunks_are_joined_as_arrow_joins_them_and_let_go():
    from datasets.core.scan import _concat

    column = pa.array(["pad", "a", "bb", "", "ccc", "é" * 3, "d" * 10, None, "x"])
    pieces = [column.slice(1, 2), column.slice(3, 0), column.slice(3, 4)]  # offsets, empty
    chunks = list(pieces)
    joined = _concat(chunks)
    assert chunks == [] and joined.equals(pa.chunked_array(pieces).combine_chunks())
    joined.validate(full=True)
    for other in ([column.slice(5, 3)], [pa.array([1, 2]), pa.array([3])]):  # nulls, numbers
        assert _concat(list(other)).equals(pa.chunked_array(other).combine_chunks())
    assert _concat([]).equals(pa.array([], pa.string()))


@pytest.mark.parametrize("ready", [True, False])
@pytest.mark.parametrize("change", [None, 0, 5, 9])
def test_ids_the_same_as_another_parts_are_that_array_else_as_read(ready, change):
    """Test's ids, read a chunk at a time, are the solution's very array when they are the
    same in the same order (whether the solution was read before or after them); any
    other ids are the chunks as read."""
    from common.arrowtools import same_memory
    from datasets.core.scan import HeldIds, IdsRead

    theirs = pa.array([f"r{i}" for i in range(10)])
    mine = theirs.to_pylist()
    if change is not None:
        mine[change] = "other"
    published = IdsRead()
    if ready:
        published.publish(theirs)
    held = HeldIds(published)
    for start in range(0, 10, 3):
        held.add(pa.array(mine[start : start + 3]))
    if not ready:
        published.publish(theirs)
    joined = held.joined()
    assert joined.to_pylist() == mine
    assert same_memory(joined, theirs) == (change is None)
    unread = IdsRead()
    unread.done()  # a solution that could not be read: the ids as read
    alone = HeldIds(unread)
    alone.add(pa.array(mine))
    assert alone.joined().to_pylist() == mine
