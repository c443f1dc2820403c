"""The one validation pass over a bundle file: what is kept of it, and how it is gathered.

A :class:`Part` keeps, for train, test or solution: the row count, the ``id`` and ``label``
columns (the one set a bundle check must hold in full), the solution's other columns, and a
:class:`~datasets.core.profile.ColumnProfile` per feature column that needs one (a column
declared text or categorical needs none unless it holds floats, nor one declared numeric
that holds native numbers). Text, numeric and image columns are never held: memory grows
with the id column, not with the feature columns.

A :class:`BatchSink` given for a part sees every batch of it once its profiles have: the
import writes the standardized files in this same pass (``datasets.core.stream``), so
the bundle is read once. Test's ids, when they are the solution's in the same order, are
held once, as the solution's array (:class:`HeldIds`), and an id column is joined a chunk
at a time (docs/decisions/0060-an-import-holds-each-id-once.md).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from common.arrowtools import release_unused_memory
from datasets.core.behind import Behind
from datasets.core.idset import same_ids_in_order
from datasets.core.profile import ColumnProfile
from datasets.core.tables import Table, read_part, scan_rows
from kinds import kind_get, kind_names

CATEGORICAL_MIN_DISTINCT = 20
CATEGORICAL_SHARE = 0.05


@dataclass(eq=False)
class Part:
    """One file of the bundle after its validation pass."""

    table: Table
    rows: int = 0
    ids: pa.Array | None = None  # raw, as read
    labels: pa.Array | None = None  # raw, as read
    kept: dict[str, pa.Array] = field(default_factory=dict)  # solution: its other columns
    profiles: dict[str, ColumnProfile] = field(default_factory=dict)

    @property
    def part(self) -> str:
        return self.table.part

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def columns(self) -> tuple[str, ...]:
        return self.table.columns


@dataclass(frozen=True)
class ScanPlan:
    """What the pass must gather: declared types, pair groups, whether images/ exists;
    ``settled``: the groups one profile showed to be text whatever else they hold
    (``ColumnProfile.decides_text``: the other profiles of the group, in train or test,
    gather no more text facts)."""

    declared: dict[str, str]
    group_of: dict[str, str]  # column -> its type group (a matching pair shares one)
    images_dir: bool
    distinct_cap: int
    settled: set[str] = field(default_factory=set, compare=False)


class BatchSink(Protocol):
    """What reads a part's batches beside its validation pass (``datasets.core.stream``)."""

    def add(self, batch: pa.RecordBatch, part: Part, profiled: Callable[[], None]) -> None:
        """Every column of one batch; ``part``'s profiles take it in on a thread of their
        own, and hold every batch so far once ``profiled()`` returns."""

    def finish(self, ok: bool) -> None:
        """The part was read to its end (``ok``), or its reading stopped on a problem."""

    def done(self, part: Part) -> None:
        """The part read to its end, its id, label and kept columns whole (on the thread
        that read it)."""


Sinks = Callable[[Mapping[str, "Table | None"], ScanPlan], Mapping[str, BatchSink]]


def plan_for(
    *, kind: str, declared: dict[str, str], tables: list[Table], images_dir: Path
) -> ScanPlan:
    """The plan for ``tables`` (train and test): the categorical cap from their row bounds;
    columns typed together as the task's kind groups them (a matching pair)."""
    columns = {c for t in tables if t.part != "solution" for c in t.columns}
    group = kind_get(kind).column_group if kind in kind_names() else str
    group_of = {c: group(c) for c in columns}
    bound = sum(t.row_bound for t in tables if t.part != "solution")
    cap = max(CATEGORICAL_MIN_DISTINCT, math.ceil(CATEGORICAL_SHARE * bound))
    return ScanPlan(declared, group_of, images_dir.is_dir(), cap)


def group_type(plan: ScanPlan, column: str) -> str | None:
    """The type declared for ``column`` or for its pair, if any."""
    group = plan.group_of.get(column, column)
    types = sorted(t for c, t in plan.declared.items() if plan.group_of.get(c, c) == group)
    return types[0] if types else None


def read_parts(
    folder: Path,
    parts: tuple[str, ...],
    problems: list[str],
    *,
    kind: str,
    declared: dict[str, str],
    max_rows: int,
    max_file_bytes: int,
    sinks: Sinks | None = None,
) -> dict[str, Part | None]:
    """Find every part, then stream each one once; problems come part by part, in order.
    ``sinks`` makes, from the parts found and the plan, the :class:`BatchSink` of the parts
    whose every batch it wants to see."""
    own: dict[str, list[str]] = {part: [] for part in parts}
    tables = {
        part: read_part(folder, part, own[part], max_rows=max_rows, max_file_bytes=max_file_bytes)
        for part in parts
    }
    plan = plan_for(
        kind=kind,
        declared=declared,
        tables=[t for t in tables.values() if t is not None],
        images_dir=folder / "images",
    )
    given = sinks(tables, plan) if sinks is not None else {}
    result: dict[str, Part | None] = {}
    # The solution (ids and labels only) is read on a thread of its own beside the others
    # (with its sink, if any); each part's problems are still reported in the parts' order.
    # Test's ids, when the solution's are the same in the same order, are the solution's
    # array (``HeldIds``): published by the solution's thread as soon as it has them.
    solution_ids = IdsRead()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-solution") as pool:
        beside = {
            part: pool.submit(
                _scan_publishing, solution_ids, table, plan, own[part], max_rows, given.get(part)
            )
            for part, table in tables.items()
            if part == "solution" and table is not None
        }
        for part, table in tables.items():
            if part in beside:
                result[part] = beside[part].result()
            elif table is not None:
                same = solution_ids if part == "test" and "solution" in beside else None
                result[part] = _scan(table, plan, own[part], max_rows, given.get(part), same=same)
            else:
                result[part] = None
            problems += own[part]
            release_unused_memory()  # the part's batches, before the next part is read
    return result


def _scan_publishing(
    published: IdsRead,
    table: Table,
    plan: ScanPlan,
    problems: list[str],
    max_rows: int,
    sink: BatchSink | None,
) -> Part | None:
    """:func:`_scan`, its ids published to ``published`` as soon as they are joined, and
    ``published`` done however the reading ends."""
    try:
        return _scan(table, plan, problems, max_rows, sink, publish=published)
    finally:
        published.done()


def _scan(
    table: Table,
    plan: ScanPlan,
    problems: list[str],
    max_rows: int,
    sink: BatchSink | None,
    *,
    same: IdsRead | None = None,
    publish: IdsRead | None = None,
) -> Part | None:
    """Read ``table`` once (module docstring). ``same``: the ids of another part being
    read, which this part's may be, in order (:class:`HeldIds`); ``publish``: where this
    part's ids go as soon as they are joined."""
    part = Part(table)
    ids = HeldIds(same)
    labels: list[pa.Array] = []
    kept: dict[str, list[pa.Array]] = {}
    features = [c for c in table.columns if c not in ("id", "label")]
    if table.part != "solution":
        part.profiles = _profiles(table, plan, features)
        features = list(part.profiles)

    # The profiles take each batch on a thread of their own (``Behind``), in file order,
    # while this one reads the next (and a sink writes it).
    profiling = Behind("profiles") if part.profiles else None

    def profile(batch: pa.RecordBatch) -> None:
        for name, column in part.profiles.items():
            column.add(batch.column(name))

    def visit(batch: pa.RecordBatch, first_row: int) -> None:
        if "id" in table.columns:
            ids.add(batch.column("id"))
        if "label" in table.columns:
            labels.append(batch.column("label"))
        if table.part == "solution":
            for name in features:
                kept.setdefault(name, []).append(batch.column(name))
        elif profiling is not None:
            profiling.run(profile, batch)
        if sink is not None:
            sink.add(batch, part, profiling.wait if profiling is not None else _nothing)

    wanted = [c for c in table.columns if c in ("id", "label") or c in features]
    rows = None
    try:
        rows = scan_rows(
            table,
            problems,
            max_rows=max_rows,
            visit=visit,
            columns=None if sink is not None else (wanted or None),
            then=None if profiling is None else profiling.wait,
        )
    finally:
        if profiling is not None:
            profiling.shutdown()
        if sink is not None:
            sink.finish(rows is not None)
    if rows is None:
        return None
    part.rows = rows
    # One column at a time, its batches freed before the next is joined: the join's
    # transient copy is one column's, not every column's.
    part.ids = ids.joined() if "id" in table.columns else None
    ids.clear()
    if publish is not None:
        publish.publish(part.ids)
    release_unused_memory()
    part.labels = _concat(labels) if "label" in table.columns else None
    labels.clear()
    release_unused_memory()
    part.kept = {name: _concat(kept.pop(name)) for name in list(kept)}
    if sink is not None:
        sink.done(part)
    return part


def _profiles(table: Table, plan: ScanPlan, features: list[str]) -> dict[str, ColumnProfile]:
    """A profile for each feature column of train or test that needs one. A column declared
    text or categorical needs nothing from this pass (unless its floats decide how its text
    is written), nor one declared numeric whose values are native numbers: the pass does
    not even read them (unless a sink does)."""
    native = _native_types(table)
    profiles: dict[str, ColumnProfile] = {}
    for name in (c for c in features if _profiled(plan, c, native.get(c))):
        declared = group_type(plan, name)
        profiles[name] = ColumnProfile(
            distinct_cap=plan.distinct_cap,
            keep_bad_numbers=plan.declared.get(name) == "numeric",
            track_paths=declared == "image" or (declared is None and plan.images_dir),
            declared_image=declared == "image",
            infer=declared is None,
            settled=plan.settled,
            group=plan.group_of.get(name, name),
        )
    return profiles


def _nothing() -> None:
    return None


def _native_types(table: Table) -> dict[str, pa.DataType]:
    """The Parquet columns' types (CSV columns are text)."""
    if table.is_csv:
        return {}
    try:
        schema = pq.read_schema(table.path)
    except (pa.ArrowException, OSError):
        return {}  # reported when the rows are read
    return {f.name: f.type for f in schema}


def _profiled(plan: ScanPlan, column: str, native: pa.DataType | None) -> bool:
    """Whether the pass profiles ``column`` (the module docstring says which need not)."""
    declared = group_type(plan, column)
    if native is not None and pa.types.is_dictionary(native):
        native = native.value_type
    if declared in ("text", "categorical"):
        return native is not None and pa.types.is_floating(native)
    if declared == "numeric" and native is not None:
        return not (pa.types.is_integer(native) or pa.types.is_floating(native))
    return True


class IdsRead:
    """A part's id column, published by the thread that reads the part as soon as it is
    joined (before the part's sink is done with it), for another part's :class:`HeldIds`;
    or never, when the part cannot be read (then :meth:`done` says so)."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._ids: pa.Array | None = None

    def publish(self, ids: pa.Array | None) -> None:
        self._ids = ids
        self._ready.set()

    def done(self) -> None:
        """The part's reading ended: no ids will come if none came."""
        self._ready.set()

    def ids(self, *, wait: bool) -> pa.Array | None:
        """The ids when published (None: none, or not yet unless ``wait``)."""
        if wait:
            self._ready.wait()
        return self._ids if self._ready.is_set() else None


class HeldIds:
    """A part's id column as it is read. When another part's ids (``same``: the solution's,
    read on a thread of its own) are the same ids in the same order (a solution in test's
    order, the usual case), the column is that part's array: each chunk that matches it at
    its rows is compared and let go, not held, and the ids are held once (at 10M UUIDs,
    test's chunks and their join took 0.4 GB each). The first chunk that does not match,
    or that comes before the other part is read, is held with every later one, and the
    column is joined at the end as it was read."""

    def __init__(self, same: IdsRead | None) -> None:
        self._same = same
        self._matched = 0  # the first rows, equal to the other part's: not held
        self._held: list[pa.Array] = []

    def _theirs(self, *, wait: bool) -> pa.Array | None:
        """The other part's ids (None: none, not read yet unless ``wait``, or unusable)."""
        theirs = None if self._same is None else self._same.ids(wait=wait)
        return None if theirs is None or theirs.null_count else theirs

    @staticmethod
    def _fits(chunk: pa.Array, theirs: pa.Array, start: int) -> bool:
        return (
            chunk.type == theirs.type
            and not chunk.null_count
            and start + len(chunk) <= len(theirs)
            and same_ids_in_order(chunk, theirs.slice(start, len(chunk)))
        )

    def add(self, chunk: pa.Array) -> None:
        if not self._held:
            theirs = self._theirs(wait=False)
            if theirs is not None and self._fits(chunk, theirs, self._matched):
                self._matched += len(chunk)
                return
        self._held.append(chunk)

    def joined(self) -> pa.Array:
        """The column: the other part's ids when they are these, else the chunks joined."""
        theirs = self._theirs(wait=True)
        if theirs is not None:
            start, fits = self._matched, True
            for chunk in self._held:
                fits = fits and self._fits(chunk, theirs, start)
                start += len(chunk)
            if fits and start == len(theirs):
                return theirs
        if self._matched:  # rows let go: the other part's ids at those rows
            assert theirs is not None
            self._held.insert(0, theirs.slice(0, self._matched))
        return _concat(self._held)

    def clear(self) -> None:
        self._held.clear()


def _concat(chunks: list[pa.Array]) -> pa.Array:
    """One array of the chunks (an empty text array for a file without rows), which are
    taken out of ``chunks``. Text without missing values (ids, labels) is copied a chunk at
    a time into buffers of the whole column's size, each chunk let go once copied: the
    join takes the column's size once more and a chunk, not twice (at 10M UUIDs a join
    by Arrow held 0.8 GB for a moment)."""
    if not chunks:
        return pa.array([], pa.string())
    if all(c.type == pa.string() and not c.null_count for c in chunks):
        joined = _join_text(chunks)
        if joined is not None:
            return joined
    whole = pa.chunked_array(chunks).combine_chunks()
    chunks.clear()
    return whole


def _join_text(chunks: list[pa.Array]) -> pa.Array | None:
    """:func:`_concat` of text chunks without missing values (None: over 2 GiB of text,
    which 32-bit offsets cannot hold: Arrow's join says so)."""
    ends = [_offsets(chunk)[[0, -1]] for chunk in chunks]
    total = sum(int(stop - start) for start, stop in ends)
    if total >= 2**31:
        return None
    rows = sum(len(chunk) for chunk in chunks)
    # Arrow's own pool: it hands back the pages of the batches just read, where fresh
    # memory (numpy's, mapped anew for every large array) is faulted in and zeroed page by
    # page (a third of this join's time at 10M UUIDs, on a loaded host).
    offsets_buffer = pa.allocate_buffer(4 * (rows + 1))
    data_buffer = pa.allocate_buffer(total)
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    row = at = 0
    chunks.reverse()  # taken from the end: each one let go as soon as it is copied
    while chunks:
        chunk = chunks.pop()
        mine = _offsets(chunk)
        start, stop = int(mine[0]), int(mine[-1])
        np.subtract(mine[:-1], start - at, out=offsets[row : row + len(chunk)])
        buffer = chunk.buffers()[2]
        if stop > start:
            data[at : at + stop - start] = np.frombuffer(buffer, np.uint8, stop - start, start)
        row, at = row + len(chunk), at + stop - start
        del chunk, mine, buffer
    offsets[rows] = at
    del offsets, data  # the buffers' views: the array holds the buffers
    return pa.StringArray.from_buffers(rows, offsets_buffer, data_buffer)


def _offsets(chunk: pa.Array) -> np.ndarray:
    return np.frombuffer(chunk.buffers()[1], np.int32, len(chunk) + 1, chunk.offset * 4)
