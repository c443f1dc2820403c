"""Predictions handed over as arrays (``scoring.core.handed``): scored bit for bit as the file
they came from, and a forged hand-over refused in words, never loaded.

The output check of a run writes what it aligned (``write_predictions``) and the worker
scores those arrays. The check's process parsed a hostile file, so every hostile case
here is a file such a process could have written instead: wrong types, lengths, codes,
NaN, a truncated or corrupted archive, a header that claims a terabyte.
"""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from scoring.core import save_predictions, score_file, solution_from_table
from scoring.core.handed import HandedInvalid, handed_size_limit, load_handed, score_handed
from scoring.core.predictions import write_predictions

N = 600
CLASSES = ["ant", "bee", "cat"]


def _ids(order: np.ndarray) -> list[str]:
    return [f"r{i}" for i in order]


def _solution(kind: str):
    rng = np.random.default_rng(1)
    split = np.where(rng.random(N) < 0.4, "public", "private")
    if kind == "classification":
        labels, classes = pa.array(CLASSES).take(pa.array(rng.integers(0, 3, N))), CLASSES
    elif kind == "matching":
        labels, classes = pa.array(rng.integers(0, 2, N).astype(str)), ["0", "1"]
    elif kind == "grouping":
        labels, classes = pa.array([f"e{i}" for i in rng.integers(0, N // 3, N)]), []
    else:
        labels, classes = pa.array(rng.normal(size=N)), []
    table = pa.table({"id": _ids(np.arange(N)), "label": labels, "split": split})
    return solution_from_table(table, kind=kind, classes=classes)


def _file(case: str) -> tuple[str, bytes]:
    """A valid submission for ``case`` (its kind, then what it holds), rows shuffled."""
    rng = np.random.default_rng(2)
    order = rng.permutation(N)
    columns: dict[str, object] = {"id": _ids(order)}
    kind = case.split("-")[0]
    if kind == "classification":
        proba = rng.dirichlet(np.ones(3), N)
        columns["label"] = pa.array(CLASSES).take(pa.array(proba.argmax(1)))
        if case.endswith("proba"):
            columns.update({f"proba_{c}": proba[:, j] for j, c in enumerate(CLASSES)})
    elif kind == "matching":
        score = rng.random(N)
        columns["label"] = (score > 0.5).astype(int)
        if case.endswith("score"):
            columns["score"] = score
    elif kind == "grouping":
        columns["cluster"] = [f"c{i}" for i in rng.integers(0, N // 4, N)]
    else:
        columns["label"] = rng.normal(size=N) * 3
    out = io.BytesIO()
    pq.write_table(pa.table(columns), out)
    return kind, out.getvalue()


CASES = [
    "classification",
    "classification-proba",
    "matching",
    "matching-score",
    "grouping",
    "regression",
]


@pytest.mark.parametrize("case", CASES)
def test_handed_arrays_score_bit_for_bit_as_the_file_they_came_from(case):
    kind, data = _file(case)
    solution = _solution(kind)
    from_file = score_file(io.BytesIO(data), solution)
    handed = io.BytesIO()
    write_predictions(from_file.aligned, handed)
    assert handed.getvalue() == save_predictions(from_file.aligned)
    assert len(handed.getvalue()) <= handed_size_limit(rows=N, classes=len(solution.classes))

    aligned = load_handed(handed.getvalue(), solution)
    scored = score_handed(aligned, solution, row_count=N, format="parquet")

    assert scored.metrics == from_file.metrics  # exact floats, every split and metric
    assert scored.scores() == from_file.scores()
    assert np.array_equal(aligned.pred, from_file.aligned.pred)
    if from_file.aligned.probabilities is not None:
        assert np.array_equal(aligned.proba, from_file.aligned.proba)
    if from_file.curves is not None:
        for split, curves in from_file.curves.items():
            assert scored.curves[split].opis == curves.opis
    # What is stored of the run is the hand-over itself: it loads as scoring loads it.
    assert save_predictions(aligned) == handed.getvalue()


# --- forged hand-overs ------------------------------------------------------------------------


def _forge(members: dict[str, object], *, compression: int = zipfile.ZIP_STORED) -> bytes:
    """A zip of .npy members as ``save_predictions`` lays them out; a bytes value is
    written as the member's raw content."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, value in members.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                if isinstance(value, bytes):
                    member.write(value)
                else:
                    array = np.asanyarray(value)
                    np.lib.format.write_array(member, array, allow_pickle=True)
    return out.getvalue()


def _valid(**changes: object) -> dict[str, object]:
    members: dict[str, object] = {
        "version": np.array(2),
        "pred": np.zeros(N, dtype=np.int8),
    }
    members.update(changes)
    return {name: value for name, value in members.items() if value is not None}


def _huge_header() -> bytes:
    out = io.BytesIO()
    header = {"descr": "<i4", "fortran_order": False, "shape": (10**12,)}
    np.lib.format.write_array_header_1_0(out, header)
    return out.getvalue() + b"\0" * 64


CLASS_CODES = "the class codes"
OBJECTS = "of type object"
FORGED = [
    ("float codes", "classification", _valid(pred=np.zeros(N)), CLASS_CODES),
    ("short", "classification", _valid(pred=np.zeros(N - 1, np.int8)), "shape (599,), not (600,)"),
    ("long", "classification", _valid(pred=np.zeros(N + 1, np.int8)), "shape (601,)"),
    ("code k", "classification", _valid(pred=np.full(N, 3, np.int8)), "outside [0, 3)"),
    ("huge code", "classification", _valid(pred=np.full(N, 2**31 - 1, np.int32)), "outside [0, 3)"),
    ("negative", "classification", _valid(pred=np.full(N, -1, np.int16)), "outside [0, 3)"),
    ("int64", "classification", _valid(pred=np.zeros(N, np.int64)), "of type int64"),
    ("big-endian", "classification", _valid(pred=np.zeros(N, ">i4")), "of type >i4"),
    ("objects", "classification", _valid(pred=np.array([None] * N, dtype=object)), OBJECTS),
    ("pickled", "classification", _valid(pred=np.array([{"a": 1}], dtype=object)), OBJECTS),
    ("2 classes", "classification", _valid(proba_by_class=np.full((2, N), 0.5)), "shape (2, 600)"),
    ("sums", "classification", _valid(proba_by_class=np.full((3, N), 0.5)), "summing to 1"),
    (
        "NaN proba",
        "classification",
        _valid(proba_by_class=np.full((3, N), np.nan)),
        "summing to 1",
    ),
    (
        "order repeats",
        "classification",
        _valid(proba_by_class=np.full((3, N), 1 / 3), proba_order=np.zeros(N, np.int16)),
        "repeats rows",
    ),
    (
        "order outside",
        "classification",
        _valid(proba_by_class=np.full((3, N), 1 / 3), proba_order=np.full(N, N, np.int16)),
        "outside the solution",
    ),
    ("order alone", "classification", _valid(proba_order=np.arange(N, dtype=np.int16)), "without"),
    ("a score", "classification", _valid(score=np.zeros(N)), "score given"),
    ("NaN", "regression", _valid(pred=np.full(N, np.nan)), "NaN or infinite"),
    ("inf", "regression", _valid(pred=np.full(N, np.inf)), "NaN or infinite"),
    ("too large", "regression", _valid(pred=np.full(N, 1e200)), "outside"),
    ("codes", "regression", _valid(pred=np.zeros(N, np.int8)), "not float64"),
    ("proba", "regression", _valid(pred=np.zeros(N), proba_by_class=np.zeros((0, N))), "proba"),
    ("match 2", "matching", _valid(pred=np.full(N, 2, np.int8)), "outside [0, 2)"),
    ("score 1.5", "matching", _valid(score=np.full(N, 1.5)), "outside [0, 1]"),
    ("score NaN", "matching", _valid(score=np.full(N, np.nan)), "NaN"),
    ("cluster n", "grouping", _valid(pred=np.full(N, N, np.int16)), "outside [0, 600)"),
    ("huge header", "classification", _valid(pred=_huge_header()), "shape (1000000000000,)"),
    ("header only", "classification", _valid(pred=b"\x93NUMPY"), "not a readable"),
    ("no magic", "classification", _valid(pred=b"x" * 100), "not a readable"),
    ("missing", "classification", {"version": np.array(2)}, "missing"),
    ("version 1", "classification", _valid(version=np.array(1)), "version"),
    ("extra", "classification", _valid(evil=np.zeros(3)), "unexpected members"),
]


@pytest.mark.parametrize(
    ("kind", "members", "words"), [c[1:] for c in FORGED], ids=[c[0] for c in FORGED]
)
def test_a_forged_hand_over_is_refused_in_words(kind, members, words):
    with pytest.raises(HandedInvalid) as refused:
        load_handed(_forge(members), _solution(kind))
    assert words in str(refused.value)


def _good() -> bytes:
    return _forge(_valid())


def test_the_valid_forgery_loads_so_the_cases_above_fail_for_their_own_reason():
    aligned = load_handed(_good(), _solution("classification"))
    assert aligned.pred.shape == (N,) and aligned.pred.dtype == np.int8  # codes as stored


def test_a_truncated_or_corrupted_archive_is_refused():
    solution, data = _solution("classification"), _good()
    for cut in (len(data) // 2, len(data) - 10, 30, 0):
        with pytest.raises(HandedInvalid, match="not a readable"):
            load_handed(data[:cut], solution)
    at = data.index(b"pred.npy") + 200  # inside pred's values: the CRC no longer matches
    corrupted = data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]
    with pytest.raises(HandedInvalid, match="not a readable"):
        load_handed(corrupted, solution)


@pytest.mark.parametrize("dtype", [np.int16, np.int32])
def test_codes_off_their_type_s_boundary_load_as_an_aligned_copy_in_their_type(dtype):
    codes = (np.arange(N) % 3).astype(dtype)
    data = _forge({"version": np.array(2), "pred": codes})
    aligned = load_handed(data, _solution("classification"))
    assert aligned.pred.dtype == dtype and aligned.pred.flags.aligned
    assert np.array_equal(aligned.pred, codes)


@pytest.mark.parametrize("extra", [1, 700, 65_535])
def test_a_local_header_that_moves_a_member_s_bytes_is_refused(extra):
    """The arrays are read where the bytes are (never copied out of the zip): a local
    header whose extra field is longer than the one written moves a member's bytes, up
    to past the end of the data, and is refused without a read out of bounds."""
    solution, data = _solution("classification"), bytearray(_good())
    at = data.rindex(b"PK\x03\x04", 0, data.index(b"pred.npy"))  # pred's local header
    length = int.from_bytes(data[at + 28 : at + 30], "little")
    data[at + 28 : at + 30] = min(65_535, length + extra).to_bytes(2, "little")
    with pytest.raises(HandedInvalid, match="not a readable"):
        load_handed(bytes(data), solution)


def test_a_float_member_off_its_type_s_boundary_loads_as_an_aligned_copy():
    """The arrays are read where the zip put their bytes, which need not suit their type
    (here, as ``save_predictions`` lays them out, 3 bytes past a multiple of 8)."""
    rng = np.random.default_rng(3)
    proba = rng.dirichlet(np.ones(3), N).T.copy()
    data = _forge(
        {"version": np.array(2), "pred": proba.argmax(0).astype(np.int8), "proba_by_class": proba}
    )
    at = data.index(b"proba_by_class.npy") + len("proba_by_class.npy") + 20  # zip64 extra
    assert (at + 128) % 8 != 0  # the values' first byte, after the 128-byte .npy header
    aligned = load_handed(data, _solution("classification"))
    assert np.array_equal(aligned.probabilities.by_class, proba)
    assert aligned.probabilities.by_class.flags.aligned
    assert aligned.pred.dtype == np.int8  # codes as stored (counted, never widened)


def test_a_compressed_member_is_refused_before_it_is_inflated():
    # 600 rows deflate to a few bytes: a bomb's shape (its size is not its size).
    data = _forge(_valid(), compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(HandedInvalid, match="compressed"):
        load_handed(data, _solution("classification"))


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_member_named_twice_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for _ in range(2):
            with archive.open("pred.npy", "w") as member:
                np.lib.format.write_array(member, np.zeros(N, np.int8))
    with pytest.raises(HandedInvalid, match="unexpected members"):
        load_handed(out.getvalue(), _solution("classification"))


def test_the_size_limit_grows_with_rows_and_classes_only():
    assert handed_size_limit(rows=10, classes=0) < handed_size_limit(rows=10, classes=3)
    assert handed_size_limit(rows=10_000_000, classes=3) < 10_000_000 * 60


def test_a_directory_of_many_entries_is_refused_before_the_zip_is_opened():
    """A zip's directory is parsed into an object per entry: one claiming millions of them
    (in its end record, or a zip64 record) is refused from its last bytes alone."""
    solution = _solution("classification")
    six = _forge(_valid(a=np.zeros(1), b=np.zeros(1), c=np.zeros(1), d=np.zeros(1)))
    with pytest.raises(HandedInvalid, match="a directory of 6 entries"):
        load_handed(six, solution)
    data = bytearray(_good())
    end = len(data) - 22
    data[end + 8 : end + 12] = (60_000).to_bytes(2, "little") * 2  # entries: on disk, in all
    with pytest.raises(HandedInvalid, match="a directory of 60,000 entries"):
        load_handed(bytes(data), solution)
    with pytest.raises(HandedInvalid, match="no end record at its end"):
        load_handed(_good() + b"a comment or anything after", solution)
    # A zip64 end record, as zipfile reads it instead, claiming a huge directory.
    good = _good()
    cut = len(good) - 22
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, 9, 9, 10**9, 0)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, cut, 1)
    with pytest.raises(HandedInvalid, match="a directory of 9 entries in 1,000,000,000 bytes"):
        load_handed(good[:cut] + record + locator + good[cut:], solution)
