"""The import reads the bundle once (docs/decisions/0056-the-import-reads-the-bundle-once.md):
train and test are written while the validation reads them, with the types guessed from
train's first batch, and confirmed when the whole bundle is read. The files, the card and
task.json are byte for byte those of the two-pass path (validate, then write from the
bundle again), whether the guesses held or the task was written again; a refused bundle
leaves nothing; every batch is written once, in order.

The batches are made small (a few rows, a few hundred bytes of CSV) so that a guess from the
first batch can be contradicted by a later one with bundles of a few hundred rows."""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import datasets.core.rules as rules_module
import datasets.core.stream as stream_module
import datasets.core.tables as tables_module
from common.arrowtools import same_memory
from common.numbered import Spread, shape_metadata
from datasets.core import BundleInvalid, prepare_task, standardize, validate_bundle
from datasets.core.stream import StreamedOutput
from kinds import kind_get
from testkit.bundles import (
    write_classification_bundle,
    write_matching_bundle,
    write_regression_bundle,
)
from tests.datasets_tests.core_grouping_helpers import grouping_bundle

ROWS = 240
# the module (``datasets.core.standardize`` the attribute is its function)
standardize_module = importlib.import_module("datasets.core.standardize")


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 50 rows (Parquet) and 2 KiB blocks (CSV): a bundle of a few hundred rows is
    read, written and confirmed in many batches, as a large one is."""
    monkeypatch.setattr(tables_module, "BATCH_ROWS", 50)
    monkeypatch.setattr(importlib.import_module("datasets.core.part_writer"), "BATCH_ROWS", 50)
    monkeypatch.setattr(tables_module, "CSV_BLOCK_BYTES", 2048)
    # a key table beside the solution from 16 ids of no numbered shape on (not 4,096)
    monkeypatch.setattr(stream_module, "KEYS_MIN_ROWS", 16)


def _later(
    column: str, value: Any, *, at: int = ROWS - 3
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Set ``column`` to ``value`` in one row near the end (after the first batch)."""

    def bend(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        df[column] = df[column].astype(object)
        df.loc[min(at, len(df) - 1), column] = value
        return df

    return bend


def _with(**columns: Callable[[int], list[Any]]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def bend(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(**{name: make(len(df)) for name, make in columns.items()})

    return bend


def _digits(n: int) -> list[str]:
    return [str(i) for i in range(n)]


def _gapped(n: int) -> list[str]:
    """Counted ids too far apart to be placed by their integers (``common.numbered.Spread``
    spans at most 2 integers per id)."""
    return [f"p{1000 * i + 2}" for i in range(n)]


def _spread(n: int) -> list[str]:
    """A catalog's counted ids split at random: gaps, yet dense (``Spread``)."""
    kept = np.sort(np.random.default_rng(3).choice(2 * n, size=n, replace=False))
    return [f"p{i}" for i in kept]


def _hexes(n: int) -> list[str]:
    return [hashlib.sha256(str(i).encode()).hexdigest()[:20] for i in range(n)]


def _bundles(root: Path, fmt: str) -> dict[str, Path]:
    """Bundles of every kind, declared and inferred columns, and the shapes a first batch
    can mistake (by name: what the stream should do)."""
    return {
        "classification": write_classification_bundle(root / "c", fmt=fmt, rows=ROWS),
        "declared": write_classification_bundle(
            root / "d",
            fmt=fmt,
            rows=ROWS,
            task={"columns": {"title": "text", "price": "numeric", "color": "categorical"}},
        ),
        "matching": write_matching_bundle(root / "m", fmt=fmt, rows=ROWS),
        "regression": write_regression_bundle(root / "r", fmt=fmt, rows=ROWS),
        "grouping": grouping_bundle(root / "g", fmt=fmt, rows=ROWS),
        # numbers in train's first batches, a word further on: guessed numeric, then text
        "rewritten: a word after numbers": write_classification_bundle(
            root / "w",
            fmt=fmt,
            rows=ROWS,
            train=lambda df: _later("code", "n/a?")(_with(code=_digits)(df)),
            test=_with(code=_digits),
        ),
        # a float column declared categorical: whole in its first batch, fractions later
        "rewritten: fractions after whole floats": write_classification_bundle(
            root / "f",
            fmt=fmt,
            rows=ROWS,
            task={"columns": {"size": "categorical"}},
            train=lambda df: _later("size", 2.5)(
                _with(size=lambda n: [float(i) for i in range(n)])(df)
            ),
            test=_with(size=lambda n: [float(i % 7) for i in range(n)]),
        ),
        # whole float ids and float class labels: written as text without ".0"
        "float ids and labels": write_classification_bundle(
            root / "i",
            fmt=fmt,
            rows=ROWS,
            train=_with(
                id=lambda n: [float(i) for i in range(n)],
                label=lambda n: [float(i % 3) for i in range(n)],
            ),
            solution=_with(label=lambda n: [float(i % 3) for i in range(n)]),
        ),
        # ids read as integers: their text made once for test and the solution
        "integer ids": write_classification_bundle(
            root / "n",
            fmt=fmt,
            rows=ROWS,
            train=_with(id=lambda n: list(range(n))),
            test=_with(id=lambda n: list(range(n))),
            solution=_with(id=lambda n: list(range(n))),
        ),
        # ids of a prefix and integers far apart: a key table beside the solution, made
        # from the solution alone (the validation proves them by their integers)
        "gapped ids": write_classification_bundle(
            root / "p",
            fmt=fmt,
            rows=ROWS,
            train=_with(id=lambda n: [f"p{1000 * i + 1}" for i in range(n)]),
            test=_with(id=_gapped),
            solution=_with(id=_gapped),
        ),
        # a catalog's ids split at random: placed by their integers, no key table
        "spread ids": write_classification_bundle(
            root / "q",
            fmt=fmt,
            rows=ROWS,
            test=_with(id=_spread),
            solution=_with(id=_spread),
        ),
        # UUID-like ids: the validation's own key table proves them and is stored
        "keyed ids": write_classification_bundle(
            root / "k",
            fmt=fmt,
            rows=ROWS,
            test=_with(id=_hexes),
            solution=_with(id=_hexes),
        ),
        # the solution in another order than test: its split is made again in test's order
        "solution reversed": write_classification_bundle(
            root / "s", fmt=fmt, rows=ROWS, solution=lambda df: df.iloc[::-1]
        ),
        # a column empty in train's first batch, numbers after: guessed text, then numeric
        "rewritten: numbers after an empty start": write_classification_bundle(
            root / "e",
            fmt=fmt,
            rows=ROWS,
            train=_with(late=lambda n: [None] * 60 + [str(i) for i in range(n - 60)]),
            test=_with(late=lambda n: [str(i) for i in range(n)]),
        ),
    }


def _digests(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _written_again(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record, per import, whether the streamed files were kept or written again."""
    seen: list[str] = []
    confirmed = standardize_module._confirmed

    def spy(bundle: Any, streamed: StreamedOutput) -> Any:
        card = confirmed(bundle, streamed)
        seen.append("kept" if card is not None else "written again")
        return card

    monkeypatch.setattr(standardize_module, "_confirmed", spy)
    return seen


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_one_read_writes_what_the_two_passes_write(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _written_again(monkeypatch)
    for name, bundle in _bundles(tmp_path / "bundles", fmt).items():
        once = prepare_task(bundle, work_dir=tmp_path / f"once-{len(seen)}")
        validated = validate_bundle(bundle)  # no write_to: the two passes
        assert validated.streamed is None
        twice = standardize(validated, tmp_path / f"twice-{len(seen)}")
        assert _digests(once.out_dir) == _digests(twice.out_dir), name
        assert (once.meta, once.card, once.warnings) == (twice.meta, twice.card, twice.warnings)
        # CSV holds floats as text: "2.5" after "1" is no contradiction there
        again = name.startswith("rewritten") and not (fmt == "csv" and "fractions" in name)
        assert seen[-1] == ("written again" if again else "kept"), name
    assert len(seen) == 14


def test_the_guesses_are_confirmed_by_the_whole_bundle(tmp_path: Path) -> None:
    """What each case above relies on: the types the guesses took, and the final ones."""
    bundles = _bundles(tmp_path / "bundles", "parquet")
    word = validate_bundle(bundles["rewritten: a word after numbers"], write_to=tmp_path / "w")
    assert word.streamed is not None and word.streamed.types["code"] == "numeric"
    assert dict(word.columns)["code"] == "text"  # distinct numbers: no category
    late = validate_bundle(
        bundles["rewritten: numbers after an empty start"], write_to=tmp_path / "e"
    )
    assert late.streamed is not None and late.streamed.types["late"] == "string"
    assert dict(late.columns)["late"] == "numeric"
    fractions = validate_bundle(
        bundles["rewritten: fractions after whole floats"], write_to=tmp_path / "f"
    )
    assert fractions.streamed is not None
    assert "fractions further on" in fractions.streamed.written["train"].dropped
    plain = validate_bundle(bundles["classification"], write_to=tmp_path / "c")
    assert plain.streamed is not None
    assert plain.streamed.types == {"title": "string", "price": "numeric", "color": "string"}
    assert {p: w.rows for p, w in plain.streamed.written.items()} == {
        "train": ROWS,
        "test": ROWS // 2,
    }


def test_the_split_made_beside_the_reading_is_taken_only_for_the_same_labels(
    tmp_path: Path,
) -> None:
    bundles = _bundles(tmp_path / "bundles", "parquet")
    for name, taken in (("classification", True), ("solution reversed", False)):
        validated = validate_bundle(bundles[name], write_to=tmp_path / name)
        assert validated.streamed is not None and validated.streamed.public is not None
        labels = validated.solution["label"].combine_chunks()  # in test's order
        public = validated.streamed.public_rows(labels)
        assert (public is not None) == taken, name
        if public is not None:
            expected = kind_get("classification").public_rows(labels, public_fraction=0.3, seed=0)
            assert np.array_equal(public, expected)


def test_the_solution_file_written_beside_the_reading_is_kept_only_for_the_same_solution(
    tmp_path: Path,
) -> None:
    bundles = _bundles(tmp_path / "bundles", "parquet")
    for name, kept in (("classification", True), ("solution reversed", False)):
        once = prepare_task(bundles[name], work_dir=tmp_path / f"once-{kept}")
        twice = standardize(validate_bundle(bundles[name]), tmp_path / f"twice-{kept}")
        solution = "private/solution.parquet"
        assert _digests(once.out_dir)[solution] == _digests(twice.out_dir)[solution]
        validated = validate_bundle(bundles[name], write_to=tmp_path / f"w-{kept}")
        assert validated.streamed is not None and validated.streamed.solution is not None
        shape = shape_metadata(validated.test_id_shape)
        written = validated.streamed.solution_file(validated.solution, shape)
        assert (written is not None) == kept, name


def test_integer_ids_are_made_text_once_for_test_and_its_solution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The solution's thread makes the text of the ids it writes; the validation of test's
    ids and the solution's (one column, in test's order) takes that text and its index
    rather than making them again (10M integer ids: 0.25 s and 100 MB each). Parquet: a
    CSV's ids are read as text."""
    made: list[int] = []
    as_text = rules_module.as_text

    def counted(values: pa.Array, **kwargs: Any) -> pa.Array:
        if pa.types.is_integer(values.type):
            made.append(len(values))
        return as_text(values, **kwargs)

    monkeypatch.setattr(rules_module, "as_text", counted)
    bundle = _bundles(tmp_path / "bundles", "parquet")["integer ids"]
    validated = validate_bundle(bundle, write_to=tmp_path / "w")
    assert validated.streamed is not None and validated.streamed.solution is not None
    assert made == [ROWS]  # train's alone: test's and the solution's were made once
    assert same_memory(validated.test_ids, validated.streamed.solution.ids)
    assert validated.test_ids.to_pylist() == [str(i) for i in range(ROWS // 2)]


def test_the_key_table_is_made_beside_the_reading_only_where_the_validation_makes_none(
    tmp_path: Path,
) -> None:
    bundles = _bundles(tmp_path / "bundles", "parquet")
    gapped = validate_bundle(bundles["gapped ids"], write_to=tmp_path / "g")
    assert gapped.streamed is not None and gapped.streamed.solution is not None
    assert gapped.streamed.solution.keys is not None and gapped.test_id_table == []
    task = standardize(gapped, tmp_path / "g")
    assert task.files["private/solution.keys.npy"] == gapped.streamed.solution.keys
    # The validation's own table: written as soon as the ids are proven, not held after.
    keyed = validate_bundle(bundles["keyed ids"], write_to=tmp_path / "k")
    assert keyed.streamed is not None and keyed.streamed.solution is not None
    assert keyed.streamed.solution.keys is None and keyed.test_id_table == []
    written = keyed.streamed.test_keys
    assert written is not None and written.is_file()
    assert standardize(keyed, tmp_path / "k").files["private/solution.keys.npy"] == written
    # Not streamed: the validation holds the table for standardize to write.
    held = validate_bundle(bundles["keyed ids"])
    assert len(held.test_id_table) == 1
    stored = standardize(held, tmp_path / "k2").files["private/solution.keys.npy"]
    assert stored.read_bytes() == written.read_bytes()
    spread = validate_bundle(bundles["spread ids"], write_to=tmp_path / "q")
    assert isinstance(spread.test_id_shape, Spread) and spread.test_id_table == []
    assert spread.streamed is not None and spread.streamed.solution is not None
    assert spread.streamed.solution.keys is None
    assert "private/solution.keys.npy" not in standardize(spread, tmp_path / "q").files


def test_the_leak_probe_runs_once_train_is_read_and_its_finding_is_the_validation_s(
    tmp_path: Path,
) -> None:
    """A file sorted by class: found by the probe started ahead, the same warning; asked
    about other labels, the ahead probe does not answer."""
    sorted_ids = write_classification_bundle(
        tmp_path / "sorted",
        rows=ROWS,
        train=lambda df: df.sort_values("label", kind="stable").assign(
            id=[f"c{i:04d}" for i in range(len(df))]
        ),
    )
    validated = validate_bundle(sorted_ids, write_to=tmp_path / "w")
    ahead = validated.streamed.probe_ahead if validated.streamed else None
    assert ahead is not None
    kind = kind_get("classification")
    known, found = ahead.answer(kind, validated.train_ids, validated.train_labels)
    assert known and found is not None
    assert [w for w in validated.warnings if "predict 'label'" in w] == [found.message("train.csv")]
    other = pa.array(["bird"] * ROWS)
    assert ahead.answer(kind, validated.train_ids, other) == (False, None)
    off = write_classification_bundle(tmp_path / "off", rows=ROWS, task={"leak_probe": "off"})
    quiet = validate_bundle(off, write_to=tmp_path / "w-off")
    assert quiet.streamed is not None and quiet.streamed.probe_ahead is None


def test_every_batch_is_written_once_in_order(tmp_path: Path) -> None:
    bundle = write_classification_bundle(tmp_path / "b", fmt="parquet", rows=ROWS)
    task = prepare_task(bundle, work_dir=tmp_path / "w")
    written = pq.ParquetFile(task.files["train.parquet"])
    assert written.metadata.num_row_groups == ROWS // 50 + 1  # one per batch of 50
    ids = pq.read_table(task.files["train.parquet"])["id"].to_pylist()
    assert ids == [f"c{i:04d}" for i in range(ROWS)]
    source = pd.read_parquet(bundle / "train.parquet")
    assert (
        pd.read_parquet(task.files["train.parquet"])["title"].tolist() == source["title"].tolist()
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_refused_bundle_leaves_nothing_of_what_was_streamed(tmp_path: Path, fmt: str) -> None:
    """Refused after its files were read (and written): duplicate ids, a solution that
    misses a test id."""
    duplicated = write_classification_bundle(
        tmp_path / "dup", fmt=fmt, rows=ROWS, train=_later("id", "c0000")
    )
    short = write_matching_bundle(
        tmp_path / "short", fmt=fmt, rows=ROWS, solution=lambda df: df.iloc[:-1]
    )
    for bundle in (duplicated, short):
        work = tmp_path / f"work-{bundle.name}"
        with pytest.raises(BundleInvalid):
            prepare_task(bundle, work_dir=work)
        assert not (work / "task").exists()


def test_nothing_is_streamed_for_images_and_the_two_passes_write_them(tmp_path: Path) -> None:
    bundle = write_classification_bundle(tmp_path / "b", fmt="parquet", rows=ROWS, images=True)
    validated = validate_bundle(bundle, write_to=tmp_path / "task")
    assert validated.streamed is None
    task = standardize(validated, tmp_path / "task")
    assert "images.zip" in task.files and task.card["columns"][-1]["type"] == "image"


def test_a_large_float_column_streams_as_numbers(tmp_path: Path) -> None:
    """A Parquet column of native floats with missing values: numeric from the first batch,
    written once, NaN as missing."""
    values = np.where(np.arange(ROWS) % 5 == 0, np.nan, np.arange(ROWS) * 0.5)
    bundle = write_classification_bundle(
        tmp_path / "b",
        fmt="parquet",
        rows=ROWS,
        train=_with(f=lambda n: list(values[:n])),
        test=_with(f=lambda n: list(values[:n])),
    )
    validated = validate_bundle(bundle, write_to=tmp_path / "task")
    assert validated.streamed is not None and validated.streamed.types["f"] == "numeric"
    task = standardize(validated, tmp_path / "task")
    column = pq.read_table(task.files["train.parquet"])["f"]
    assert column.null_count == ROWS // 5
