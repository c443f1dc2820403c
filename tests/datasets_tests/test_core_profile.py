"""What one streaming pass learns about a raw column, pinned batch by batch (no Django):
the counts and flags type inference reads, the non-numbers a declared numeric column
reports, and the paths of a possible image column."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from datasets.core.profile import ColumnProfile

NAN = float("nan")
LARGE = pa.large_string()
FACTS = (
    "rows",
    "present",
    "numeric",
    "boolean",
    "integral",
    "text_length",
    "image_like",
    "bad_rows",
    "bad",
    "distinct",
    "probes",
    "paths",
    "track_paths",
)


def facts(profile: ColumnProfile) -> dict[str, Any]:
    distinct = profile.distinct.values()
    return {
        "rows": profile.rows,
        "present": profile.present,
        "numeric": profile.numeric,
        "boolean": profile.boolean,
        "integral": profile.integral,
        "text_length": profile.text_length,
        "image_like": profile.image_like,
        "bad_rows": profile.bad_rows,
        "bad": profile.bad_distinct(),
        "distinct": None if distinct is None else distinct.to_pylist(),
        "probes": profile.probes.values().to_pylist(),
        "paths": [(r["value"], r["count"]) for r in profile.path_counts().to_pylist()],
        "track_paths": profile.track_paths,
    }


def row(*values: Any) -> dict[str, Any]:
    """The facts, in the order of ``FACTS``."""
    return dict(zip(FACTS, values, strict=True))


CASES = {
    "native ints": (
        [[1, 2, None, 3]],
        {"distinct_cap": 5},
        row(4, 3, True, False, True, 0, True, 0, [], [], [], [], False),
    ),
    "native floats, one not whole": (
        [[1.0, NAN, 2.0], [2.5, None]],
        {"distinct_cap": 5},
        row(5, 3, True, False, False, 0, True, 0, [], [], [], [], False),
    ),
    "booleans": (
        [[True, False, None]],
        {"distinct_cap": 5},
        row(3, 2, False, True, True, 9, False, 0, [], ["True", "False"], [], [], False),
    ),
    "all null": (
        [pa.array([None, None])],
        {"distinct_cap": 5},
        row(2, 0, True, False, True, 0, True, 0, [], [], [], [], False),
    ),
    "numbers as text, over the distinct cap": (
        [["1", " 2.5", None, ""], ["1e3", "-4"]],
        {"distinct_cap": 3},
        row(6, 4, True, False, True, 10, False, 0, [], None, [], [], False),
    ),
    "text": (
        [["a", "bb", "a", None], ["1", "ccc"]],
        {"distinct_cap": 3},
        row(6, 5, False, False, True, 8, False, 0, [], None, [], [], False),
    ),
    "a non-number past the first thousand values": (
        [[str(i) for i in range(1200)] + ["x", "y", "x"]],
        {"distinct_cap": 5},
        row(1203, 1203, False, False, True, 3693, False, 3, [], None, [], [], False),
    ),
    "declared numeric keeps its non-numbers": (
        [["1", "x", "2", "y", "x"], pa.array(["z", None]).dictionary_encode()],
        {"distinct_cap": 3, "keep_bad_numbers": True, "infer": False},
        row(7, 6, False, False, True, 0, True, 4, ["x", "y", "z"], [], [], [], False),
    ),
    "image paths": (
        [["a.png", "b.JPG", "a.png", None], ["c.gif"]],
        {"distinct_cap": 10, "track_paths": True},
        row(
            5, 4, False, False, True, 20, True, 0, [],
            ["a.png", "b.JPG", "c.gif"],
            ["a.png", "b.JPG", "c.gif"],
            [("a.png", 2), ("b.JPG", 1), ("c.gif", 1)],
            True,
        ),
    ),
    "image paths, then a path that is not an image": (
        [["a.png", "b.png"], ["c.txt", "d.png"]],
        {"distinct_cap": 10, "track_paths": True},
        row(
            4, 4, False, False, True, 20, False, 0, [],
            ["a.png", "b.png", "c.txt", "d.png"], ["a.png", "b.png"], [], False,
        ),
    ),
    "declared image keeps paths that don't look like images": (
        [["a.png", "b"], ["c", "c"]],
        {"distinct_cap": 10, "track_paths": True, "declared_image": True},
        row(
            4, 4, False, False, True, 8, False, 0, [],
            ["a.png", "b", "c"], [], [("a.png", 1), ("b", 1), ("c", 2)], True,
        ),
    ),
    "declared image, no inference": (
        [["a.png", "b", "b", None]],
        {"distinct_cap": 10, "track_paths": True, "declared_image": True, "infer": False},
        row(4, 3, True, False, True, 0, True, 0, [], [], [], [("a.png", 1), ("b", 2)], True),
    ),
    "declared text": (
        [["a", "b"]],
        {"distinct_cap": 10, "infer": False},
        row(2, 2, True, False, True, 0, True, 0, [], [], [], [], False),
    ),
    "chunked large strings": (
        [pa.chunked_array([pa.array(["1", "2"], LARGE), pa.array(["3"], LARGE)])],
        {"distinct_cap": 10},
        row(3, 3, True, False, True, 3, False, 0, [], ["1", "2", "3"], [], [], False),
    ),
}


@pytest.mark.parametrize(("batches", "options", "expected"), CASES.values(), ids=CASES.keys())
def test_a_profile_fed_batch_by_batch_holds_these_facts(batches, options, expected) -> None:
    profile = ColumnProfile(**options)
    for batch in batches:
        profile.add(batch if isinstance(batch, pa.Array | pa.ChunkedArray) else pa.array(batch))
    assert facts(profile) == expected


def test_a_group_one_profile_shows_to_be_text_is_not_profiled_further() -> None:
    """A profile past the distinct cap, not numeric, not image-like, decides its group's
    type (text, whatever the others hold): the other profiles of the group (test's, the
    other side of a pair) gather no more text facts, but still their floats' flag."""
    from datasets.core.infer import infer_from_profile
    from datasets.core.profile import merge

    settled: set[str] = set()
    train = ColumnProfile(distinct_cap=3, settled=settled, group="title")
    train.add(pa.array(["a b", "c", "1"]))
    assert not train.decides_text and not settled  # 3 distinct: within the cap
    train.add(pa.array(["d e", "f"]))
    assert train.decides_text and settled == {"title"}
    test = ColumnProfile(distinct_cap=3, settled=settled, group="title")
    test.add(pa.array(["x", "1", "y"]))
    assert (test.rows, test.present, test.text_length) == (3, 0, 0)
    test.add(pa.array([1.5, 2.0]))  # a float batch: the ".0" flag of test's floats
    assert not test.integral
    alone = ColumnProfile(distinct_cap=3)  # the same values, no shared groups
    for values in (["x", "1", "y"], [1.5, 2.0]):
        alone.add(pa.array(values))
    assert infer_from_profile(profile=merge([train, test]), exists=None) == "text"
    assert infer_from_profile(profile=merge([train, alone]), exists=None) == "text"
    other = ColumnProfile(distinct_cap=3, settled=settled, group="brand")
    other.add(pa.array(["x", "y"]))
    assert other.present == 2  # another group: profiled
