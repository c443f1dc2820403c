"""Locating submission ids among the solution's: the integer shortcut equals a hash probe."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from scoring.core import SubmissionInvalid, align_submission, solution_from_table
from scoring.core.idindex import id_pattern, locate, permutation_of_numbered


def hash_probe(ids: list[str], solution_ids: pa.Array) -> np.ndarray:
    found = pc.index_in(pa.array(ids, pa.string()), value_set=solution_ids)
    return np.asarray(pc.fill_null(found, -1).to_numpy(), dtype=np.int64)


def check(solution: list[str], submission: list[str]) -> np.ndarray:
    solution_ids = pa.array(solution, pa.string())
    got = locate(pa.chunked_array([pa.array(submission, pa.string())]), solution_ids)
    np.testing.assert_array_equal(got, hash_probe(submission, solution_ids))
    return got


TRICKY = [
    "r0001",  # zero-padded differently: same integer, another id
    "r01",
    "R1",
    "r",
    "r-1",
    "r+1",
    "r 1",
    "r1 ",
    "r١",  # an Arabic-Indic digit
    "r99999999999999999999999",  # beyond int64
    "",
    "x1",
    "rr1",
    "r1.0",
]


@pytest.mark.parametrize(
    "solution",
    [
        [f"r{i}" for i in range(50)],  # contiguous, no padding
        [f"r{i:04d}" for i in range(50)],  # contiguous, padded
        [f"r{i}" for i in range(50)][::-1],  # integers in another order
        [f"r{3 * i + 7}" for i in range(50)],  # sparse but dense enough for a lookup
        [str(i) for i in range(50)],  # no prefix
        [f"é-{i}" for i in range(50)],  # a multi-byte prefix
    ],
    ids=["contiguous", "padded", "reversed", "sparse", "bare", "unicode-prefix"],
)
def test_integer_shortcut_equals_a_hash_probe(solution):
    assert id_pattern(pa.array(solution)) is not None
    rng = np.random.default_rng(0)
    submission = list(rng.permutation(solution)) + TRICKY + solution[:3] + [solution[0] + "0"]
    got = check(solution, submission)
    assert (got[: len(solution)] >= 0).all()


@pytest.mark.parametrize(
    "solution",
    [
        ["a", "b", "c"],  # no digits
        ["r1", "r01", "r2"],  # two ids, one integer
        ["r1", "s2", "r3"],  # two prefixes
        ["r1", "r2", "r1000000"],  # too sparse for a dense lookup
    ],
)
def test_other_solutions_fall_back_to_a_hash_probe(solution):
    assert id_pattern(pa.array(solution)) is None
    check(solution, ["r1", "r01", "a", "s2", "r1000000", "zz", *solution[::-1]])


def test_shuffled_patterned_ids_keep_the_exact_messages():
    n = 20
    ids = [f"t{i:03d}" for i in range(n)]
    solution = solution_from_table(
        pa.table({"id": ids, "label": ["a", "b"] * (n // 2), "split": ["public"] * n}),
        kind="classification",
        classes=["a", "b"],
    )
    rows = [*ids[::-1][:-2], "t005", "t5", "t0005"]  # t000/t001 missing, t005 twice
    table = pa.table({"id": rows, "label": ["a"] * len(rows)})
    with pytest.raises(SubmissionInvalid) as caught:
        align_submission(table, solution)
    assert caught.value.message == (
        "The ids do not match the test set:\n"
        "- 1 id appears more than once (2 rows), e.g. 't005'.\n"
        "- 2 test ids are missing, e.g. 't000', 't001'.\n"
        "- 2 rows have an id that is not in the test set, e.g. 't5', 't0005'."
    )


def test_shuffled_integer_ids_align_to_the_solution_order():
    n = 1000
    ids = [f"row{i:05d}" for i in range(n)]
    labels = np.random.default_rng(1).integers(0, 2, n)
    solution = solution_from_table(
        pa.table({"id": ids, "label": labels.astype(str), "split": ["private"] * n}),
        kind="classification",
        classes=["0", "1"],
    )
    order = np.random.default_rng(2).permutation(n)
    table = pa.table({"id": pa.array(ids).take(order), "label": labels[order].astype(str)})
    aligned = align_submission(table, solution)
    np.testing.assert_array_equal(aligned.pred, labels)


def test_numbered_permutation_is_found_without_a_hash_table():
    solution = pa.array([f"id-{i:06d}" for i in range(500)])
    order = np.random.default_rng(3).permutation(500)
    chunks = pa.chunked_array([solution.take(order[:200]), solution.take(order[200:])])
    pos = permutation_of_numbered(chunks, solution)
    np.testing.assert_array_equal(pos, order)


@pytest.mark.parametrize(
    "change",
    [
        lambda ids: [*ids[:-1], "id-000499"],  # a duplicate (and a missing id)
        lambda ids: [*ids[:-1], "id-00049x"],  # same length, not a number
        lambda ids: [*ids[:-1], "id-000500"],  # beyond the solution's rows
        lambda ids: [*ids[:-1], "ix-000001"],  # the right number, another prefix
        lambda ids: [*ids[:-1], "id-0000001"],  # another length
        lambda ids: ids[:-1],  # one row short
        # Not digits, yet read as the one missing number (":" is "9" + 1, "/" is "0" - 1):
        lambda ids: [i if i != "id-000010" else "id-00000:" for i in ids],
        lambda ids: [i if i != "id-000009" else "id-00001/" for i in ids],
        lambda ids: [i if i != "id-000001" else "id-0000١" for i in ids],  # 2 UTF-8 bytes
        lambda ids: [i if i != "id-000001" else "Id-000001" for i in ids],
    ],
)
def test_numbered_permutation_declines_anything_else(change):
    solution = [f"id-{i:06d}" for i in range(500)]
    submitted = change(list(np.random.default_rng(4).permutation(solution)))
    assert permutation_of_numbered(pa.array(submitted), pa.array(solution)) is None


def test_numbered_permutation_needs_the_guess_confirmed():
    # Numbered, but not in numeric order: every guess is checked and refused.
    solution = [f"id-{i:06d}" for i in range(500)][::-1]
    submitted = list(np.random.default_rng(5).permutation(solution))
    assert permutation_of_numbered(pa.array(submitted), pa.array(solution)) is None
    check(solution, submitted)


def test_numbered_solution_shape_is_cached_and_exact():
    from scoring.core.idindex import solution_shape as _numbered

    solution = pa.array([f"id-{i:06d}" for i in range(7, 507)])
    shape = _numbered(solution)
    assert (shape.prefix, shape.digits, shape.low) == (b"id-", 6, 7)
    assert _numbered(solution) is shape  # once per solution array
    order = np.random.default_rng(6).permutation(500)
    np.testing.assert_array_equal(permutation_of_numbered(solution.take(order), solution), order)
    # Fixed width and numbered, but a gap or another prefix somewhere: not this shape, and the
    # general path still decides.
    assert _numbered(pa.array(["id-01", "id-02", "id-04"])) is None
    assert _numbered(pa.array(["id-01", "id-02", "ix-03"])) is None
    gap = ["id-01", "id-02", "id-04"]
    assert permutation_of_numbered(pa.array(gap[::-1]), pa.array(gap)) is None
    check(gap, gap[::-1])


# --- counted ids (no padding) and ids of any shape --------------------------------------------

COUNTED_TRICKY = [
    "r007",  # padded: the number 7, but not the id r7
    "r+7",
    "r 7",
    "r7 ",
    "R7",
    "x7",
    "r0x1F",  # Arrow's integer cast reads hexadecimal
    "r١",
    "r-1",
    "r",
    "",
]


def test_counted_permutation_is_found_from_the_integers():
    solution = pa.array([f"r{i}" for i in range(1234)])
    order = np.random.default_rng(7).permutation(1234)
    chunks = pa.chunked_array([solution.take(order[:600]), solution.take(order[600:])])
    np.testing.assert_array_equal(permutation_of_numbered(chunks, solution), order)


@pytest.mark.parametrize("odd", COUNTED_TRICKY)
def test_counted_permutation_declines_any_other_id(odd):
    solution = [f"r{i}" for i in range(200)]
    submitted = list(np.random.default_rng(8).permutation(solution))
    at = submitted.index("r7")
    submitted[at] = odd
    assert permutation_of_numbered(pa.array(submitted), pa.array(solution)) is None
    got = check(solution, submitted)  # the exact path names it
    assert got[at] == -1


def test_counted_integer_ids_are_read_as_integers():
    from common.numbered import Counted

    solution = pa.array([str(i) for i in range(10, 510)])
    order = np.random.default_rng(9).permutation(500)
    as_numbers = pa.chunked_array([pa.array(order + 10, pa.int64())])
    shape = Counted(prefix=b"", low=10)
    np.testing.assert_array_equal(permutation_of_numbered(as_numbers, solution, shape=shape), order)
    as_numbers = pa.chunked_array([pa.array(np.r_[order[:-1], 10_000] + 10, pa.int64())])
    assert permutation_of_numbered(as_numbers, solution, shape=shape) is None


def test_a_stored_shape_is_used_and_none_means_no_shortcut():
    from common.numbered import Counted

    solution = pa.array([f"r{i}" for i in range(300)])
    order = np.random.default_rng(10).permutation(300)
    shuffled = solution.take(order)
    np.testing.assert_array_equal(
        permutation_of_numbered(shuffled, solution, shape=Counted(prefix=b"r", low=0)), order
    )
    assert permutation_of_numbered(shuffled, solution, shape=None) is None


def keyed_solution(n: int, kind: str) -> pa.Array:
    rng = np.random.default_rng(11)
    if kind == "uuid":
        import uuid

        return pa.array([str(uuid.UUID(int=int(x))) for x in rng.integers(0, 2**62, n)])
    words = ["alpha", "beta", "x", "north-east", "ACME"]
    return pa.array([f"{words[i % 5]}-{int(v)}" for i, v in enumerate(rng.permutation(n) * 3)])


@pytest.mark.parametrize("kind", ["uuid", "free"])
def test_keys_place_a_permutation_of_any_shape(kind):
    from scoring.core.idindex import KEYS_MIN_ROWS, permutation_by_keys

    solution = keyed_solution(KEYS_MIN_ROWS + 500, kind)
    order = np.random.default_rng(12).permutation(len(solution))
    chunks = pa.chunked_array([solution.take(order[:1000]), solution.take(order[1000:])])
    np.testing.assert_array_equal(permutation_by_keys(chunks, solution), order)


@pytest.mark.parametrize(
    "change",
    [
        lambda ids: [*ids[:-1], ids[0]],  # a duplicate (and a missing id)
        lambda ids: [*ids[:-1], ids[-1] + " "],  # one more byte
        lambda ids: [*ids[:-1], ids[-1][:-1]],  # one byte less
        lambda ids: [*ids[:-1], ids[-1].upper() if ids[-1] != ids[-1].upper() else "?"],
        lambda ids: [*ids[:-1], ids[-1] + "\x00"],  # what the padding adds
        lambda ids: [*ids[:-1], "é" + ids[-1][1:]],  # not ASCII
        lambda ids: ids[:-1],
    ],
)
@pytest.mark.parametrize("kind", ["uuid", "free"])
def test_keys_decline_anything_but_the_same_ids(kind, change):
    from scoring.core.idindex import KEYS_MIN_ROWS, permutation_by_keys

    solution = keyed_solution(KEYS_MIN_ROWS + 10, kind)
    submitted = change(list(np.random.default_rng(13).permutation(solution.to_pylist())))
    assert permutation_by_keys(pa.array(submitted), solution) is None


@pytest.mark.parametrize("kind", ["uuid", "free"])
def test_keys_made_ahead_are_the_ones_the_placing_uses(kind, monkeypatch):
    """A cold command makes the solution's key table while the file is read
    (``prepare_keys``); placing the file then uses it, and makes none of its own."""
    from scoring.core import idindex

    solution = keyed_solution(idindex.KEYS_MIN_ROWS + 500, kind)
    made = []
    build = idindex._key_table
    monkeypatch.setattr(idindex, "_key_table", lambda ids, *a: made.append(ids) or build(ids, *a))
    idindex.prepare_keys(solution, None)
    idindex.prepare_keys(solution, idindex.Counted(b"r", 0))  # a numbered shape: no keys
    assert len(made) == 1
    order = np.random.default_rng(14).permutation(len(solution))
    placed = idindex.permutation_by_keys(solution.take(order), solution)
    np.testing.assert_array_equal(placed, order)
    assert len(made) == 1


# --- spread ids: a catalog's counted ids split at random --------------------------------------


def spread_solution(n: int = 3000) -> pa.Array:
    kept = np.sort(np.random.default_rng(12).choice(2 * n, size=n, replace=False))
    return pa.array([f"p{i}" for i in kept])


def test_spread_permutation_is_found_from_the_integers_with_or_without_a_stored_shape():
    from common.numbered import Spread
    from scoring.core.idindex import solution_shape as _numbered

    solution = spread_solution()
    order = np.random.default_rng(13).permutation(len(solution))
    chunks = pa.chunked_array([solution.take(order[:1000]), solution.take(order[1000:])])
    assert isinstance(_numbered(solution), Spread)  # found from the ids (an older task)
    np.testing.assert_array_equal(permutation_of_numbered(chunks, solution), order)
    shape = _numbered(solution)
    again = pa.array(solution.to_pylist())  # the shape as stored: a fresh array
    np.testing.assert_array_equal(permutation_of_numbered(chunks, again, shape=shape), order)


@pytest.mark.parametrize("odd", [*COUNTED_TRICKY, "p1"])  # p1: an integer in a gap
def test_spread_permutation_declines_any_other_id(odd):
    solution = spread_solution(400)
    ids = solution.to_pylist()
    if odd in ids:
        return
    submitted = list(np.random.default_rng(14).permutation(ids))
    at = submitted.index(ids[7])
    submitted[at] = odd
    assert permutation_of_numbered(pa.array(submitted), solution) is None
    got = check(ids, submitted)  # the exact path names it
    assert got[at] == -1


def test_spread_integer_ids_are_read_as_integers():
    from common.numbered import Spread

    numbers = np.sort(np.random.default_rng(15).choice(900, size=500, replace=False))
    solution = pa.array([str(i) for i in numbers])
    order = np.random.default_rng(16).permutation(500)
    shape = Spread(prefix=b"", low=int(numbers[0]), span=int(numbers[-1] - numbers[0]) + 1)
    as_numbers = pa.chunked_array([pa.array(numbers[order], pa.int64())])
    np.testing.assert_array_equal(permutation_of_numbered(as_numbers, solution, shape=shape), order)
    twice = pa.chunked_array([pa.array(np.r_[numbers[order][:-1], numbers[order][0]], pa.int64())])
    assert permutation_of_numbered(twice, solution, shape=shape) is None
