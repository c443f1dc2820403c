"""The standardized train and test files, written batch by batch, in the pass that
validates them (docs/decisions/0056-the-import-reads-the-bundle-once.md), through
:class:`datasets.core.part_writer.PartWriter` (one part, in the standard types of
:func:`datasets.core.part_writer.standard_column`).

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
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from common import keyfile
from common.arrowtools import one_array, release_unused_memory, same_memory
from common.coerce import as_text, float_integral, is_float, plain
from common.idkeys import KEYS_MIN_ROWS
from common.numbered import IdShape, shape_metadata
from common.split import split_column
from datasets.core.card import STRING, CardBuilder
from datasets.core.idset import IdIndex
from datasets.core.io import standard_schema
from datasets.core.leakprobe import LeakFound, leak_probe
from datasets.core.part_writer import PARTS, PartWriter, part_paths, standard_column
from datasets.core.scan import BatchSink, Part, ScanPlan, group_type
from datasets.core.tables import Table

if TYPE_CHECKING:
    from kinds import TaskKind

# --- the import's one read: written while validated ------------------------------------

SOLUTION = "private/solution.parquet"
SOLUTION_KEYS = keyfile.keys_name(SOLUTION)


def keys_wanted(ids: pa.Array, shape: IdShape) -> bool:
    """Whether the stored solution of test ids ``ids`` (of ``shape``) gets the table of its
    ids' keys beside it: scoring places them by their keys (no numbered shape), and there
    are enough of them (``common.idkeys.KEYS_MIN_ROWS``)."""
    return shape is None and len(ids) >= KEYS_MIN_ROWS and not ids.null_count


def standard_labels(kind: TaskKind, raw: pa.Array) -> pa.Array | None:
    """``raw`` labels as the validation makes them (``rules.check_labels``: as text, then
    the kind's ``bundle_labels``), or None when the validation will refuse them."""
    text = as_text(raw)
    problems: list[str] = []
    labels = kind.bundle_labels(raw, text, file_name="", where=lambda mask: "", problems=problems)
    return None if problems or text.null_count else labels


def solution_table(kind: str, solution: pa.Table, public: np.ndarray, shape: object) -> pa.Table:
    """The standardized solution: ``solution`` (``id``, ``label`` and an OPIS group column,
    in test's order) with its ``split`` (``public``), in the standard schema, the test ids'
    shape in its metadata (scoring reads it instead of finding it again:
    ``scoring.core.solution``)."""
    table = solution.append_column("split", split_column(public))
    extra = [c for c in table.column_names if c not in ("id", "label")]
    schema = standard_schema(kind, (), with_label=True, extra=extra)
    metadata = {**(schema.metadata or {}), **shape_metadata(shape)}  # type: ignore[arg-type]
    return table.select(schema.names).cast(schema).replace_schema_metadata(metadata)


@dataclass(eq=False)
class _Written:
    """What one part's stream wrote, and with which guesses (``dropped``: why it cannot be
    kept)."""

    rows: int = 0
    dropped: str = ""
    done: bool = False  # read to the end, its files closed
    # a float column written as text -> the ".0" flag it was written with
    flags: dict[str, bool] = field(default_factory=dict)


@dataclass(eq=False)
class WrittenSolution:
    """The solution file written from the solution alone, and what it was made of: kept
    when the validated solution in test's order is exactly this (a solution in test's
    order, the usual case)."""

    ids: pa.Array
    labels: pa.Array
    metadata: dict[bytes, bytes]
    path: Path
    keys: Path | None = None  # the ids' key table (``common.keyfile``), when made here
    # the ids' index (their shape found): the validation's own for test's ids when they
    # are these ids (``validate``), so that the shape is not found twice
    index: IdIndex | None = None


class StreamedOutput:
    """Train and test standardized while the validation reads them, the solution's split
    and file made on its own thread, and the leak probe started as soon as train is read
    (module docstring)."""

    def __init__(
        self,
        *,
        kind: TaskKind,
        declared: Mapping[str, str],
        out_dir: Path,
        split: tuple[float, int] = (0.3, 0),
        probe: bool = False,
        group_column: str = "",
    ) -> None:
        self.kind, self.declared, self.out_dir = kind, dict(declared), out_dir
        self.features: list[str] = []
        self.types: dict[str, str] = {}  # feature -> declared type, "numeric" or STRING
        self.card: CardBuilder | None = None
        self.written: dict[str, _Written] = {}
        self.split = split  # task.yaml's public_fraction and split_seed
        self.probe = probe  # whether the validation will run the leak probe
        self.group_column = group_column  # task.yaml's OPIS group column, if any
        self._made = False  # whether out_dir was made here (a refusal leaves no folder)
        # The solution's labels (standard) and their public rows, made beside the reading
        self.public: tuple[pa.Array, np.ndarray] | None = None
        self.solution: WrittenSolution | None = None
        self.probe_ahead: ProbeAhead | None = None
        # The test ids' key table the validation made to prove them distinct, written
        # beside the solution as soon as they are proven (``validate``), not held after
        self.test_keys: Path | None = None

    @classmethod
    def start(
        cls,
        *,
        kind: TaskKind | None,
        declared: Mapping[str, str],
        out_dir: Path | None,
        images_dir: Path,
        **options: Any,
    ) -> StreamedOutput | None:
        """The streamed output into ``out_dir``, or None when nothing is streamed (no
        ``out_dir``, no known kind, images). ``options``: ``split`` (the public fraction
        and the seed), ``probe`` (whether the leak probe will run), ``group_column``."""
        if out_dir is None or kind is None or images_dir.exists():
            return None
        if any(column_type == "image" for column_type in declared.values()):
            return None
        return cls(kind=kind, declared=declared, out_dir=out_dir, **options)

    def sinks(self, tables: Mapping[str, Table | None], plan: ScanPlan) -> dict[str, BatchSink]:
        """The sinks (:class:`datasets.core.scan.BatchSink`) of train and test, when their
        headers agree on the columns (a bundle whose headers do not is refused), and of the
        solution, whose split and file are made as soon as it is read."""
        self._made = not self.out_dir.exists()
        self.out_dir.mkdir(parents=True, exist_ok=True)
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
            return given
        self.features = features
        return {**given, **{part: _PartSink(self, part, plan) for part in PARTS}}

    def public_rows(self, labels: pa.Array) -> np.ndarray | None:
        """The public rows of the solution's ``labels`` (standard, in test's order), when
        the split made beside the reading was made from these very labels (a solution in
        test's order, the usual case); None otherwise (make it then)."""
        made = self.public
        if made is None or len(made[0]) != len(labels) or not made[0].equals(labels):
            return None
        return made[1]

    def solution_file(self, solution: pa.Table, metadata: Mapping[bytes, bytes]) -> Path | None:
        """The solution file written beside the reading, when the validated ``solution``
        (in test's order) is the one it was written from and the test ids' shape
        (``metadata``) is the one it holds; None otherwise (write it then)."""
        made = self.solution
        if made is None or solution.column_names != ["id", "label"]:
            return None
        if dict(metadata) != made.metadata or len(solution) != len(made.ids):
            return None
        # The usual solution holds the very arrays it was written from: no comparison.
        pairs = ((one_array(solution["id"]), made.ids), (one_array(solution["label"]), made.labels))
        same = all(same_memory(mine, theirs) or mine.equals(theirs) for mine, theirs in pairs)
        return made.path if same else None

    def files(self) -> dict[str, Path]:
        """The train and test files written, by their name in the task folder."""
        return {path.name: path for part in self.written for path in part_paths(self.out_dir, part)}

    def discard(self, *, refused: bool = False) -> None:
        """Remove the train and test files (guesses the bundle contradicted); of a
        ``refused`` bundle, everything written and the folder made for it."""
        for path in self.files().values():
            path.unlink(missing_ok=True)
        self.written.clear()
        self.card = None
        if refused:
            self.test_keys = None  # the validation's key table too
            self.discard_solution()
            folders = [(self.out_dir / SOLUTION).parent, *([self.out_dir] if self._made else [])]
            for folder in folders:
                with contextlib.suppress(OSError):  # absent, or not empty: nothing else of ours
                    folder.rmdir()

    def discard_solution(self) -> None:
        """Remove the solution file and key table written beside the reading (not the test
        ids' key table the validation wrote, :attr:`test_keys`: it is the stored
        solution's, whichever file that is)."""
        kept = () if self.test_keys is None else (SOLUTION_KEYS,)
        for name in (SOLUTION, SOLUTION_KEYS):
            if name not in kept:
                (self.out_dir / name).unlink(missing_ok=True)
        self.solution = None

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
        """Train is whole: the leak probe starts on its ids and labels (when it will run)."""
        output = self.output
        ready = part.ids is not None and part.labels is not None
        if self.part == "train" and output.probe and ready:
            output.probe_ahead = ProbeAhead(output.kind, part.ids, part.labels)

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
            self._flag("label", raw)  # whole floats in the first batch: whole in every one
            labels = standard_labels(output.kind, raw)
            if labels is None:
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
    """The solution's split and file, made on the solution's own thread once its ids and
    labels are read: by the time train and test are written they are there, and
    ``standardize`` takes them when the solution in test's order is this one
    (:meth:`StreamedOutput.public_rows`, :meth:`StreamedOutput.solution_file`)."""

    def __init__(self, output: StreamedOutput) -> None:
        self.output = output

    def add(self, batch: pa.RecordBatch, part: Part, profiled: Callable[[], None]) -> None:
        return None

    def finish(self, ok: bool) -> None:
        return None

    def done(self, part: Part) -> None:
        output = self.output
        if part.labels is None or part.ids is None or len(part.labels) < 2:
            return
        try:
            labels = standard_labels(output.kind, part.labels)
            if labels is None:
                return  # refused: no split to make
            fraction, seed = output.split
            public = output.kind.public_rows(labels, public_fraction=fraction, seed=seed)
            output.public = (labels, public)
            if output.group_column:
                return  # its group column's source is decided with test's columns
            ids = as_text(part.ids)
            if ids.null_count:
                return
            made, keyed = self._write(ids, labels, public, source=part.ids)
            output.solution = made
            # The key table scoring places these ids by (no numbered shape), when the
            # validation proves them distinct without one (ids of a prefix and integers in
            # another order, too sparse for a Spread); ids it keys to prove them distinct
            # give it their table.
            if keyed:
                keys = output.out_dir / SOLUTION_KEYS
                made.keys = keys if keyfile.write(keys, ids) else None
        except (pa.ArrowException, ValueError, TypeError, OSError):
            return  # made again, the usual way, where it raises what it raises
        finally:
            release_unused_memory()  # this thread's, before train and test need theirs

    def _write(
        self, ids: pa.Array, labels: pa.Array, public: np.ndarray, *, source: pa.Array
    ) -> tuple[WrittenSolution, bool]:
        """Write the solution file of ``ids`` (the text of ``source``, the column as read)
        and ``labels``; and whether a key table is to be made beside it (the table and the
        ids' index let go first)."""
        output = self.output
        index = IdIndex(ids, source=source)
        shape = index.shape
        keyed = keys_wanted(ids, shape) and index.proven_without_keys()
        table = pa.table({"id": ids, "label": labels})
        path = output.out_dir / SOLUTION
        path.parent.mkdir(exist_ok=True)
        pq.write_table(solution_table(output.kind.name, table, public, shape), path)
        kept = None if keyed else index  # a key table's ids: let go first (shape known)
        made = WrittenSolution(ids, labels, dict(shape_metadata(shape)), path, index=kept)
        return made, keyed


class ProbeAhead:
    """The leak probe (:func:`datasets.core.leakprobe.leak_probe`) run on a thread of its
    own as soon as train is read, on its ids and labels made as the validation makes them,
    while test and the solution are read; :meth:`answer` gives its finding when the
    validation asks about the same ids and labels."""

    def __init__(self, kind: TaskKind, raw_ids: pa.Array, raw_labels: pa.Array) -> None:
        self.kind = kind
        self._found: tuple[pa.Array, pa.Array, LeakFound | None] | None = None
        self._thread = threading.Thread(
            target=self._run, args=(raw_ids, raw_labels), name="leak-probe-ahead", daemon=True
        )
        self._thread.start()

    def _run(self, raw_ids: pa.Array, raw_labels: pa.Array) -> None:
        try:
            ids, labels = as_text(raw_ids), standard_labels(self.kind, raw_labels)
            if labels is not None and not ids.null_count:
                self._found = (ids, labels, leak_probe(kind=self.kind, ids=ids, labels=labels))
        except Exception:  # whatever it is, the validation's own call meets it again
            self._found = None

    def answer(self, kind: TaskKind, ids: pa.Array, labels: pa.Array) -> tuple[bool, Any]:
        """``(True, the finding)`` when the probe ran on these ``ids`` and ``labels``;
        ``(False, None)`` otherwise (then probe them)."""
        self._thread.join()
        found = self._found
        if found is None or kind is not self.kind:
            return False, None
        same_ids = same_memory(ids, found[0]) or ids.equals(found[0])
        same_labels = same_memory(labels, found[1]) or labels.equals(found[1])
        return (True, found[2]) if same_ids and same_labels else (False, None)


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
