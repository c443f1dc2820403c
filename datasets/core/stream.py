"""The standardized train and test files, written batch by batch, in the pass that
validates them (docs/decisions/0047-the-import-reads-the-bundle-once.md).

:class:`PartWriter` writes one part (train or test): each standardized batch is appended
to the Parquet file (one row group per batch) and to the CSV, and fed to the card, each on
a thread of its own (:class:`datasets.core.behind.Behind`: pyarrow releases the
interpreter lock in its kernels, so the three use the cores the reading leaves).
:func:`standard_column` is the one rule that turns a raw feature batch into its standard
type (docs/developers/data-contract.md).

:class:`StreamedOutput` is how the import reads the bundle's train and test files once: the
validation pass (:mod:`datasets.core.scan`) hands it every raw batch as it reads it (its
column profiles take the batch on a thread of their own), and the batch is written at
once, in the types its columns will have:

- a declared column's type is known (``task.yaml``'s ``columns``);
- an undeclared column is *guessed* from train's first batch: numbers or not (text and
  categorical columns are written alike, as text; only the card tells them apart, and it
  gathers what either needs until the type is known), a matching pair together;
- the ids and the labels are converted batch by batch as the validation converts them
  whole (:func:`common.coerce.as_text`, the kind's ``bundle_labels``); a float column
  written as text drops ``.0`` by a flag that must hold for the whole file, so the first
  batch's flag is kept and checked on every later batch.

``standardize`` then *confirms* the guesses against the types the whole bundle decided
(:meth:`StreamedOutput.confirmed`). What the rest of the data contradicts (a column of
numbers with a word further down, floats written as text whose later values are not whole,
a batch that could not be converted) is dropped, and that task's files are written again
from the bundle as before: the rare bundle pays a second read, the usual one never does.
Nothing is streamed for a bundle with an ``images/`` folder or an image column (image
paths are checked against the files first), nor once a problem shows that the bundle will
be refused.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from common.coerce import as_numbers, as_text, float_integral, is_float, plain
from datasets.core.behind import Behind
from datasets.core.card import STRING, CardBuilder
from datasets.core.images import normalize_path
from datasets.core.io import standard_schema
from datasets.core.scan import BatchSink, Part, ScanPlan, group_type
from datasets.core.tables import BATCH_ROWS, Table

if TYPE_CHECKING:
    from kinds import TaskKind

PARTS = ("train", "test")


def standard_column(raw: pa.Array, column_type: str, integral: bool) -> pa.Array:
    """One raw feature batch in its standard type: numbers as float64, every other type as
    text (floats without ``.0`` when ``integral``), image paths normalized."""
    if column_type == "numeric":
        return as_numbers(raw)[0]
    text = as_text(raw, integral=integral)
    if column_type != "image":
        return text
    encoded = pc.dictionary_encode(text)
    paths = pa.array([normalize_path(p) for p in encoded.dictionary.to_pylist()], pa.string())
    return paths.take(encoded.indices)


def part_paths(out_dir: Path, part: str) -> tuple[Path, Path]:
    """The CSV and Parquet files of ``part`` in a standardized task folder."""
    return out_dir / f"{part}.csv", out_dir / f"{part}.parquet"


class PartWriter:
    """``with PartWriter(...) as writer: writer.write(batch)``: one part's CSV and Parquet
    files and its card, batch by batch (module docstring); an empty part keeps the header
    and the schema."""

    def __init__(
        self, part: str, schema: pa.Schema, csv_path: Path, parquet_path: Path, card: CardBuilder
    ) -> None:
        self.part, self.schema, self.card = part, schema, card
        self.rows = 0
        self._csv = pacsv.CSVWriter(csv_path, schema)
        self._parquet_path = parquet_path
        self._parquet: pq.ParquetWriter | None = None  # opened with the first batch
        self._stages = [Behind("parquet"), Behind("csv"), Behind("card")]

    def write(self, batch: pa.RecordBatch) -> None:
        """Hand ``batch`` (standardized) to the three stages; returns while they work."""
        parquet, csv, card = self._stages
        parquet.run(self._parquet_write, batch)
        csv.run(self._csv.write_batch, batch)
        card.run(self._card_add, batch)
        self.rows += batch.num_rows

    def _parquet_write(self, batch: pa.RecordBatch) -> None:
        if self._parquet is None:
            self._parquet = self._open_parquet(batch)
        # Row groups of at most BATCH_ROWS whatever the bundle's batches (a CSV block can
        # hold millions of narrow rows): a run's /task links this file as it is.
        self._parquet.write_batch(batch, row_group_size=BATCH_ROWS)

    def _open_parquet(self, first: pa.RecordBatch | None) -> pq.ParquetWriter:
        """The Parquet writer, with a dictionary for every column but the text ones whose
        first batch is mostly distinct values (ids, titles): for those Parquet would fill
        a dictionary page and give it up again in every row group, a fifth of the writer's
        time at 10M rows for nothing."""
        names = self.schema.names
        if first is not None and first.num_rows:
            names = [
                name
                for name, column in zip(first.schema.names, first.columns, strict=True)
                if not pa.types.is_string(column.type)
                or 2 * pc.count_distinct(column).as_py() <= first.num_rows
            ]
        return pq.ParquetWriter(self._parquet_path, self.schema, use_dictionary=names)

    def _card_add(self, batch: pa.RecordBatch) -> None:
        self.card.add(self.part, batch)

    def close(self) -> None:
        """Wait for the last batch, then close both files (an error surfaces here)."""
        try:
            for stage in self._stages:
                stage.wait()
            if self.rows == 0:  # no rows: keep the header and the schema
                empty = self.schema.empty_table()
                self._csv.write_table(empty)
                self._parquet = self._open_parquet(None)
                self._parquet.write_table(empty)
        except BaseException:
            self._shutdown()
            raise
        for stage in self._stages:
            stage.shutdown()
        try:
            self._csv.close()
        finally:
            if self._parquet is not None:
                self._parquet.close()

    def _shutdown(self) -> None:
        for close in (
            *(stage.shutdown for stage in self._stages),
            self._csv.close,
            *(() if self._parquet is None else (self._parquet.close,)),
        ):
            with contextlib.suppress(Exception):  # the error on its way out is the one to see
                close()

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        else:
            self._shutdown()


# --- the import's one read: written while validated ------------------------------------


@dataclass(eq=False)
class _Written:
    """What one part's stream wrote, and with which guesses (``dropped``: why it cannot be
    kept)."""

    rows: int = 0
    dropped: str = ""
    done: bool = False  # read to the end, its files closed
    # a float column written as text -> the ".0" flag it was written with
    flags: dict[str, bool] = field(default_factory=dict)


class StreamedOutput:
    """Train and test standardized while the validation reads them (module docstring)."""

    def __init__(
        self,
        *,
        kind: TaskKind,
        declared: Mapping[str, str],
        out_dir: Path,
        split: tuple[float, int] = (0.3, 0),
    ) -> None:
        self.kind, self.declared, self.out_dir = kind, dict(declared), out_dir
        self.features: list[str] = []
        self.types: dict[str, str] = {}  # feature -> declared type, "numeric" or STRING
        self.card: CardBuilder | None = None
        self.written: dict[str, _Written] = {}
        self._made = False  # whether out_dir was made here (a refusal leaves no folder)
        self.split = split  # task.yaml's public_fraction and split_seed
        # The solution's labels (standard) and their public rows, made beside the reading
        self.public: tuple[pa.Array, np.ndarray] | None = None

    @classmethod
    def start(
        cls,
        *,
        kind: TaskKind | None,
        declared: Mapping[str, str],
        out_dir: Path | None,
        images_dir: Path,
        split: tuple[float, int] = (0.3, 0),
    ) -> StreamedOutput | None:
        """The streamed output into ``out_dir``, or None when nothing is streamed (no
        ``out_dir``, no known kind, images). ``split``: the public fraction and the seed
        of the public/private split."""
        if out_dir is None or kind is None or images_dir.exists():
            return None
        if any(column_type == "image" for column_type in declared.values()):
            return None
        return cls(kind=kind, declared=declared, out_dir=out_dir, split=split)

    def sinks(self, tables: Mapping[str, Table | None], plan: ScanPlan) -> dict[str, BatchSink]:
        """The sinks (:class:`datasets.core.scan.BatchSink`) of train and test, when their
        headers agree on the columns (a bundle whose headers do not is refused), and of the
        solution, whose split is made as soon as it is read (:meth:`public_rows`)."""
        train, test, solution = (tables.get(p) for p in ("train", "test", "solution"))
        given: dict[str, BatchSink] = {}
        if solution is not None and "label" in solution.columns:
            given["solution"] = _SolutionSink(self)
        if train is None or test is None:
            return given
        features = [c for c in train.columns if c not in ("id", "label")]
        if (
            not features
            or not {"id", "label"} <= set(train.columns)
            or "id" not in test.columns
            or set(features) != {c for c in test.columns if c != "id"}
        ):
            return {}
        self.features = features
        self._made = not self.out_dir.exists()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return {**given, **{part: _PartSink(self, part, plan) for part in PARTS}}

    def public_rows(self, labels: pa.Array) -> np.ndarray | None:
        """The public rows of the solution's ``labels`` (standard, in test's order), when
        the split made beside the reading was made from these very labels (a solution in
        test's order, the usual case); None otherwise (make it then)."""
        made = self.public
        if made is None or len(made[0]) != len(labels) or not made[0].equals(labels):
            return None
        return made[1]

    def files(self) -> dict[str, Path]:
        """The files written, by their name in the task folder."""
        return {path.name: path for part in self.written for path in part_paths(self.out_dir, part)}

    def discard(self, *, refused: bool = False) -> None:
        """Remove what was written (guesses the bundle contradicted), and the folder made
        for it when the bundle is ``refused``."""
        for path in self.files().values():
            path.unlink(missing_ok=True)
        self.written.clear()
        self.card = None
        if refused and self._made:
            with contextlib.suppress(OSError):  # only when empty: nothing else of ours
                self.out_dir.rmdir()

    def confirmed(
        self,
        *,
        columns: Sequence[tuple[str, str]],
        integral: frozenset[tuple[str, str]],
        rows: Mapping[str, int],
    ) -> CardBuilder | None:
        """The card of the streamed files when every guess holds for the bundle's final
        ``columns`` types, ``integral`` flags and ``rows``; else None (then
        :meth:`discard` them and write the task again)."""
        if self.card is None or [name for name, _ in columns] != self.features:
            return None
        for part in PARTS:
            written = self.written.get(part)
            if written is None or written.dropped or not written.done:
                return None
            if written.rows != rows[part]:
                return None
            for name, flag in written.flags.items():
                if name not in ("id", "label") and flag != ((part, name) in integral):
                    return None
        for name, final in columns:
            guess = self.types[name]
            if guess != final and not (guess == STRING and final in ("text", "categorical")):
                return None
        self.card.settle(dict(columns))
        return self.card


class _PartSink:
    """One part's stream: each raw batch standardized and written (:class:`StreamedOutput`)."""

    def __init__(self, output: StreamedOutput, part: str, plan: ScanPlan) -> None:
        self.output, self.part, self.plan = output, part, plan
        self.written = output.written.setdefault(part, _Written())
        self.writer: PartWriter | None = None

    def add(self, batch: pa.RecordBatch, part: Part, profiled: Callable[[], None]) -> None:
        if self.written.dropped:
            return
        try:
            if self.writer is None:
                profiled()  # the guesses read train's profiles of its first batch
                self.writer = self._open(part)
            standard = self._standard(batch)
            if standard is not None and not self.written.dropped:
                self.writer.write(standard)
                self.written.rows += batch.num_rows
        except (pa.ArrowException, ValueError, TypeError, KeyError) as exc:
            self.drop(f"{type(exc).__name__}: {exc}")

    def drop(self, reason: str) -> None:
        """Stop writing this part: it is written again from the bundle if it is valid."""
        self.written.dropped = self.written.dropped or reason

    def done(self, part: Part) -> None:
        """The part's columns are whole (nothing more to do for train or test)."""

    def finish(self, ok: bool) -> None:
        """The part was read to its end (``ok``), or its reading stopped on a problem."""
        writer, self.writer = self.writer, None
        if not ok:
            self.drop("the file was not read to its end")
        if writer is None:
            self.drop("no rows were written")
            return
        try:
            writer.close()
        except (pa.ArrowException, OSError, ValueError) as exc:
            self.drop(f"{type(exc).__name__}: {exc}")
        self.written.done = True

    def _open(self, part: Part) -> PartWriter:
        output = self.output
        if self.part == "train":
            output.types = _guesses(output.features, self.plan, part)
            output.card = CardBuilder(output.kind.name, list(output.types.items()))
        elif output.card is None:
            raise ValueError("train was not streamed")
        schema = standard_schema(
            output.kind.name, list(output.types.items()), with_label=self.part == "train"
        )
        csv_path, parquet_path = part_paths(output.out_dir, self.part)
        return PartWriter(self.part, schema, csv_path, parquet_path, output.card)

    def _standard(self, batch: pa.RecordBatch) -> pa.RecordBatch | None:
        """The batch in the standard types, or None (the part dropped) when a guess no
        longer holds. A column guessed numeric turns what is not a number into a missing
        value here; the bundle's final type then says text, and the part is written again."""
        output = self.output
        ids = batch.column("id")
        arrays = [as_text(ids, integral=self._flag("id", ids))]
        for name in output.features:
            raw = batch.column(name)
            if output.types[name] == "numeric":
                arrays.append(standard_column(raw, "numeric", True))
            else:
                arrays.append(standard_column(raw, "text", self._flag(name, raw)))
        if self.part == "train":
            raw = batch.column("label")
            text = as_text(raw, integral=self._flag("label", raw))
            problems: list[str] = []
            labels = output.kind.bundle_labels(
                raw, text, file_name="", where=lambda mask: "", problems=problems
            )
            if problems or text.null_count:
                self.drop("the labels will be refused")
                return None
            arrays.append(labels)
        if self.written.dropped:
            return None
        assert self.writer is not None
        return pa.RecordBatch.from_arrays(arrays, schema=self.writer.schema)

    def _flag(self, name: str, raw: pa.Array) -> bool:
        """The ``.0`` flag of a float column written as text (``as_text``'s ``integral``):
        the first batch's, kept for the whole file, and the part dropped when a later batch
        has a fraction where the first had none. A column of another type: True (unused)."""
        if not is_float(plain(raw)):
            return True
        now = float_integral(raw)
        flags = self.written.flags
        first = flags.setdefault(name, now)
        if first and not now:
            self.drop(f"'{name}' was written as whole numbers, but holds fractions further on")
        return first


class _SolutionSink:
    """The solution's split, made on the solution's own thread once its labels are read
    (the split reads them whole): by the time train and test are written it is there, and
    ``standardize`` takes it when the labels it splits are these (:meth:`public_rows`)."""

    def __init__(self, output: StreamedOutput) -> None:
        self.output = output

    def add(self, batch: pa.RecordBatch, part: Part, profiled: Callable[[], None]) -> None:
        return None

    def finish(self, ok: bool) -> None:
        return None

    def done(self, part: Part) -> None:
        raw, kind = part.labels, self.output.kind
        if raw is None or len(raw) < 2:
            return
        try:
            text = as_text(raw)
            problems: list[str] = []
            labels = kind.bundle_labels(
                raw, text, file_name="", where=lambda mask: "", problems=problems
            )
            if problems or text.null_count:
                return  # refused: no split to make
            fraction, seed = self.output.split
            public = kind.public_rows(labels, public_fraction=fraction, seed=seed)
        except (pa.ArrowException, ValueError, TypeError):
            return  # made again, the usual way, where it raises what it raises
        self.output.public = (labels, public)


def _guesses(features: list[str], plan: ScanPlan, train: Part) -> dict[str, str]:
    """Each feature's type as written: declared (for it or its pair), else ``numeric`` when
    its group's train profiles after the first batch are all numbers with one present at
    least, else :data:`~datasets.core.card.STRING` (text or categorical)."""
    groups: dict[str, list[str]] = {}
    for name in features:
        groups.setdefault(plan.group_of.get(name, name), []).append(name)
    types: dict[str, str] = {}
    for name in features:
        given = group_type(plan, name)
        if given is not None:
            types[name] = given
            continue
        profiles = [train.profiles[c] for c in groups[plan.group_of.get(name, name)]]
        numeric = all(p.all_numeric for p in profiles) and sum(p.present for p in profiles) > 0
        types[name] = "numeric" if numeric else STRING
    return types
