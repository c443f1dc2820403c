"""The solution ids' key table an import stores beside the solution (``common.keyfile``):
made at import, read (not made) by scoring, ignored when it is not the solution's, and
never able to change a score or a refusal, whatever the file holds (real files, real
import, real scoring)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from common import idkeys, keyfile
from datasets.models import Task
from datasets.replace import task_bundle_replace
from scoring.core import SubmissionInvalid, idindex, score_file
from scoring.core.solution import Solution
from scoring.solutions import task_solution_load
from testkit.bundles import write_classification_bundle
from tests.datasets_tests.factories import UserFactory, imported_task

from .solution_keyfile_helpers import N, keyed_frames, keyed_task, shuffled_csv, uuids


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every ``KeyTable.build`` from here on, by the number of keys it was given."""
    made: list[int] = []
    build = idkeys.KeyTable.build.__func__  # type: ignore[attr-defined]

    def counted(cls, keys):
        made.append(keys.size)
        return build(cls, keys)

    monkeypatch.setattr(idkeys.KeyTable, "build", classmethod(counted))
    return made


def scores(data: bytes, solution: Solution):
    return score_file(io.BytesIO(data), solution).scores()


def sidecar(task: Task) -> Path:
    return Path(task.solution.storage.path(keyfile.keys_name(task.solution.name)))


pytestmark = pytest.mark.django_db


def test_the_import_stores_the_table_and_scoring_reads_it(tmp_path, builds):
    task, ids = keyed_task(tmp_path)
    assert sidecar(task).is_file()
    solution = Path(task.solution.path)  # solution.parquet, or solution_<random>.parquet
    assert sidecar(task) == solution.with_name(solution.stem + ".keys.npy")
    builds.clear()  # the import's own proof of distinct ids made the table once
    loaded = task_solution_load(task=task)
    assert loaded.keys_path == str(sidecar(task))
    data, _ = shuffled_csv(ids, 2)
    with_file = scores(data, loaded)
    assert builds == []  # read from the file, not made

    sidecar(task).unlink()
    without = scores(data, task_solution_load(task=task))
    assert builds == [N]  # no file: made as before
    assert with_file == without


def test_few_ids_or_numbered_ids_get_no_table(tmp_path):
    task = imported_task(tmp_path, slug="plain")  # t0000...: a numbered shape, 30 rows
    assert not sidecar(task).exists()


def test_a_catalog_split_at_random_gets_no_table_and_scores_by_its_integers(tmp_path, builds):
    """Counted ids with gaps (``p0`` ... numbered once, split at random into train and
    test): a Spread shape, stored with the solution; a shuffled file is placed by its ids'
    integers (no key table, made or read) and scores as the same rows in test's order."""
    from common.numbered import Spread

    numbers = np.sort(np.random.default_rng(21).choice(2 * N, size=N, replace=False))
    ids = [f"p{i}" for i in numbers]
    _, test, solution = keyed_frames(seed=1)

    def with_ids(make):
        return lambda frame: make(frame).assign(id=ids)

    task = imported_task(
        tmp_path, slug="catalog", test=with_ids(test), solution=with_ids(solution), fmt="parquet"
    )
    assert not sidecar(task).exists()
    loaded = task_solution_load(task=task)
    assert loaded.id_shape_known and isinstance(loaded.id_shape, Spread)
    builds.clear()
    data, labels = shuffled_csv(ids, 4)
    shuffled = scores(data, loaded)
    assert builds == []  # placed by the integers: no key table
    order = np.random.default_rng(4).permutation(N)
    in_order = np.empty(N, dtype=object)
    in_order[order] = labels
    frame = pa.table({"id": ids, "label": list(in_order)})
    out = io.BytesIO()
    pacsv.write_csv(frame, out)
    assert scores(out.getvalue(), loaded) == shuffled


def test_a_new_version_has_its_own_table_and_never_reads_the_old_one(tmp_path, builds):
    task, _ = keyed_task(tmp_path, slug="keyed-v")
    first = sidecar(task)
    new_ids, test, solution = keyed_frames(seed=9)
    bundle = write_classification_bundle(
        tmp_path / "v2", task={"slug": "keyed-v"}, test=test, solution=solution, fmt="parquet"
    )
    task_bundle_replace(task=task, source=bundle, actor=UserFactory(), reason="new ids")
    task.refresh_from_db()
    second = sidecar(task)
    assert second != first and second.is_file() and first.is_file()
    # The old version's table in the new one's place: not these ids', ignored.
    second.write_bytes(first.read_bytes())
    builds.clear()
    data, _ = shuffled_csv(new_ids, 3)
    got = scores(data, task_solution_load(task=task))
    assert builds == [N]
    second.unlink()
    assert scores(data, task_solution_load(task=task)) == got


def test_a_failed_import_leaves_no_table_behind(tmp_path, monkeypatch):
    from datasets import services

    def broken(**kwargs):
        raise OSError("database gone")

    monkeypatch.setattr(services, "version_create", broken)
    with pytest.raises(OSError, match="database gone"):
        keyed_task(tmp_path, slug="keyed-failed")
    assert not Task.objects.filter(slug="keyed-failed").exists()
    private = Path(task_storage_root()) / "tasks" / "keyed-failed"
    assert not private.exists() or not any(private.rglob("*"))


def task_storage_root() -> str:
    from django.core.files.storage import storages

    return storages["private"].location


def garbled_copies(good: bytes, other: bytes) -> dict[str, bytes]:
    """A file of another solution, truncated, garbled, empty, forged (the right header,
    slots that send 1,000 ids to other rows, none of them a probe row, or to rows past the
    end)."""
    start = len(good) - 8 * np.load(io.BytesIO(good)).size  # after the .npy header
    forged_rows = bytearray(good)
    slots = np.frombuffer(forged_rows, dtype="<i8", offset=start)
    levels = int(slots[5])
    ours = keyfile._HEADER + levels  # our header: its fields, then each level's bits
    body = slots[ours:]
    mask = np.int64(0xFFFFFFFF)
    probes = keyfile._probe_rows(N)
    used = np.flatnonzero((body >= 0) & ~np.isin(body & mask, probes))[:1000]
    body[used] = (body[used] & ~mask) | np.roll(body[used] & mask, 1)
    past_end = bytearray(good)
    body = np.frombuffer(past_end, dtype="<i8", offset=start)[ours:]
    body[used[::7]] |= mask  # row 4294967295
    return {
        "truncated": good[: len(good) // 2],
        "header only": good[: start + 8 * ours],
        "empty": b"",
        "not numpy": b"garbage" * 100,
        "another solution": other,
        "forged rows rotated": bytes(forged_rows),
        "forged rows past the end": bytes(past_end),
    }


def test_a_wrong_table_never_changes_a_score_nor_a_refusal(tmp_path, builds):
    task, ids = keyed_task(tmp_path, slug="keyed-hostile")
    good = sidecar(task).read_bytes()
    assert keyfile.write(tmp_path / "other.keys.npy", pa.array(uuids(N, 77)))
    other = (tmp_path / "other.keys.npy").read_bytes()
    data, _ = shuffled_csv(ids, 4)
    expected = scores(data, task_solution_load(task=task))
    wrong_ids = {
        "a duplicate": lambda rows: [*rows[:-1], rows[0]],
        "an unknown id": lambda rows: [*rows[:-1], rows[-1][:-1] + "z"],
        "one missing": lambda rows: rows[:-1],
    }
    refusals = {}
    for name, change in wrong_ids.items():
        bad, _ = shuffled_csv(ids, 5, change=change)
        with pytest.raises(SubmissionInvalid) as refused:
            scores(bad, task_solution_load(task=task))
        refusals[name] = (bad, refused.value.message)
    read = []
    for case, content in garbled_copies(good, other).items():
        sidecar(task).write_bytes(content)
        loaded = task_solution_load(task=task)
        if keyfile.load(loaded.keys_path, idkeys.id_bytes(loaded.ids)) is not None:
            read.append(case)
        assert scores(data, loaded) == expected, case
        for name, (bad, message) in refusals.items():
            with pytest.raises(SubmissionInvalid) as refused:
                scores(bad, task_solution_load(task=task))
            assert refused.value.message == message, (case, name)
    # The forged ones pass the checks on load: the confirmation and the rows' range
    # catch them.
    assert read == ["forged rows rotated", "forged rows past the end"]


def test_forged_slots_are_caught_by_the_confirmation(tmp_path):
    """A table with the right header whose slots send two ids to each other's rows passes
    the probe rows (they are not among them) but never the byte-for-byte confirmation:
    the keys' placing declines and the exact path places every id."""
    ids = pa.array(uuids(N, 5))
    assert keyfile.write(tmp_path / "good.keys.npy", ids)
    good = np.load(tmp_path / "good.keys.npy")
    found = idkeys.id_bytes(ids)
    probes = set(keyfile._probe_rows(N).tolist())
    keys = idkeys.id_keys(found)
    bits = int(good[keyfile._HEADER])
    body_start = keyfile._HEADER + int(good[5])
    forged = good.copy()
    level0 = forged[body_start : body_start + (1 << bits)]  # a view: written in place
    slots = idkeys._slots(keys, 0, bits)
    mask = np.int64(0xFFFFFFFF)
    a, b = [r for r in range(N) if r not in probes and level0[slots[r]] & mask == r][:2]
    for row, other in ((a, b), (b, a)):
        level0[slots[row]] = (level0[slots[row]] & ~mask) | other
    path = tmp_path / "forged.keys.npy"
    np.save(path, forged)
    loaded = keyfile.load(path, found)
    assert loaded is not None  # the probes pass: the header and probe rows are right
    order = np.random.default_rng(6).permutation(N)
    submitted = ids.take(pa.array(order))
    solution_ids = pa.array(ids.to_pylist())  # new arrays: nothing cached between the two
    assert idindex.permutation_by_keys(submitted, solution_ids, stored=str(path)) is None
    fresh = pa.array(ids.to_pylist())
    assert np.array_equal(idindex.permutation_by_keys(submitted, fresh), order)


def test_every_flipped_byte_of_a_small_table_leaves_the_placing_exact(tmp_path, monkeypatch):
    """Each byte of a small table's file flipped in turn: the file is read or ignored,
    and the ids are placed exactly (or left to the exact path) every time."""
    monkeypatch.setattr(idindex, "KEYS_MIN_ROWS", 1)
    ids = uuids(40, 8)
    assert keyfile.write(tmp_path / "small.keys.npy", pa.array(ids))
    content = (tmp_path / "small.keys.npy").read_bytes()
    order = np.random.default_rng(9).permutation(len(ids))
    submitted = pa.array([ids[i] for i in order])
    path = tmp_path / "flipped.keys.npy"
    read = 0
    for at in range(len(content)):
        flipped = bytearray(content)
        flipped[at] ^= 0xFF
        path.write_bytes(bytes(flipped))
        solution_ids = pa.array(ids)  # a new array: nothing cached from the last turn
        found = idindex.permutation_by_keys(submitted, solution_ids, stored=str(path))
        assert found is None or np.array_equal(found, order), at
        read += keyfile.load(path, idkeys.id_bytes(solution_ids)) is not None
    assert 0 < read < len(content)  # some flips touch only unused slots; most are caught


def test_the_keys_are_the_ones_stored_files_were_made_with():
    """A stored table holds slots chosen by ``idkeys.id_keys``: a change of the keys must
    raise ``keyfile.FORMAT`` (old files are then ignored, not misread as slower lookups).
    These values are the keys of format 1."""
    assert keyfile.FORMAT == 1
    free = idkeys.id_keys(idkeys.id_bytes(pa.array(["a", "abc", "x-0123456789abcdef-0123"])))
    assert [int(k) for k in free] == [0x50FA5AEB744D5B4, 0xDBEF223B0079B6E4, 0xF54A5C523BEC67C1]
    uuids_ = ["0f8fad5b-d9cb-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7"]
    fixed = idkeys.id_keys(idkeys.id_bytes(pa.array(uuids_)))
    assert [int(k) for k in fixed] == [0x3E01ECFCA235D489, 0x9EAA76ACF4A460A0]


@pytest.mark.parametrize("shape", ["uuid", "free", "sliced", "not ascii"])
def test_a_table_made_before_is_written_as_the_ids_alone_would_write_it(tmp_path, shape):
    """The import writes the table its proof made, reading only the probe rows' bytes for
    the header (``idkeys.id_bytes_at``): the same file as made from the ids, or none for
    ids that cannot be keyed."""
    words = ["north", "x", "acme-lot", "é"]
    columns = {
        "uuid": lambda: pa.array(uuids(N, 12)),
        "free": lambda: pa.array([f"{words[i % 3]}-{i * 7}" for i in range(N)]),
        "sliced": lambda: pa.array(["pad", *(f"{words[i % 3]}-{i}" for i in range(N))]).slice(1),
        "not ascii": lambda: pa.array([f"{words[i % 4]}-{i}" for i in range(N)]),
    }
    ids = columns[shape]()
    found = idkeys.id_bytes(ids)
    assert (found is None) == (shape == "not ascii")
    table = None if found is None else idkeys.KeyTable.build(idkeys.id_keys(found))
    alone, made = tmp_path / "alone.keys.npy", tmp_path / "made.keys.npy"
    assert keyfile.write(alone, ids) == (found is not None)
    if found is None:
        assert not alone.exists()
        return
    assert keyfile.write(made, ids, table)
    assert made.read_bytes() == alone.read_bytes()
    assert keyfile.load(made, found) is not None
