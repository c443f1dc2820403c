"""The one validation pass over a bundle file: what is kept of it, and how it is gathered.

A :class:`Part` keeps, for train, test or solution: the row count, the ``id`` and ``label``
columns (the one set a bundle check must hold in full), the solution's other columns, and a
:class:`~datasets.core.profile.ColumnProfile` per feature column. Text, numeric and image
columns are never held: memory grows with the id column, not with the feature columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from common.arrowtools import release_unused_memory
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
    """What the pass must gather: declared types, pair groups, whether images/ exists."""

    declared: dict[str, str]
    group_of: dict[str, str]  # column -> its type group (a matching pair shares one)
    images_dir: bool
    distinct_cap: int


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
) -> dict[str, Part | None]:
    """Find every part, then stream each one once; problems come part by part, in order."""
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
    result: dict[str, Part | None] = {}
    for part, table in tables.items():
        result[part] = None if table is None else _scan(table, plan, own[part], max_rows)
        problems += own[part]
        release_unused_memory()  # the part's batches, before the next part is read
    return result


def _scan(table: Table, plan: ScanPlan, problems: list[str], max_rows: int) -> Part | None:
    part = Part(table)
    ids: list[pa.Array] = []
    labels: list[pa.Array] = []
    kept: dict[str, list[pa.Array]] = {}
    features = [c for c in table.columns if c not in ("id", "label")]
    if table.part != "solution":
        floats = _float_columns(table)
        # A column declared text or categorical needs nothing from this pass (unless its
        # floats decide how its text is written): it is not even read.
        features = [
            c for c in features if group_type(plan, c) not in ("text", "categorical") or c in floats
        ]
        for name in features:
            declared = group_type(plan, name)
            part.profiles[name] = ColumnProfile(
                distinct_cap=plan.distinct_cap,
                keep_bad_numbers=plan.declared.get(name) == "numeric",
                track_paths=declared == "image" or (declared is None and plan.images_dir),
                declared_image=declared == "image",
                infer=declared is None,
            )

    def visit(batch: pa.RecordBatch, first_row: int) -> None:
        if "id" in table.columns:
            ids.append(batch.column("id"))
        if "label" in table.columns:
            labels.append(batch.column("label"))
        for name in features:
            if table.part == "solution":
                kept.setdefault(name, []).append(batch.column(name))
            else:
                part.profiles[name].add(batch.column(name))

    wanted = [c for c in table.columns if c in ("id", "label") or c in features]
    rows = scan_rows(table, problems, max_rows=max_rows, visit=visit, columns=wanted or None)
    if rows is None:
        return None
    part.rows = rows
    # One column at a time, its batches freed before the next is joined: the join's
    # transient copy is one column's, not every column's.
    part.ids = _concat(ids) if "id" in table.columns else None
    ids.clear()
    release_unused_memory()
    part.labels = _concat(labels) if "label" in table.columns else None
    labels.clear()
    release_unused_memory()
    part.kept = {name: _concat(kept.pop(name)) for name in list(kept)}
    return part


def _float_columns(table: Table) -> set[str]:
    """Parquet columns of floats (CSV columns are text)."""
    if table.is_csv:
        return set()
    try:
        schema = pq.read_schema(table.path)
    except (pa.ArrowException, OSError):
        return set()  # reported when the rows are read
    return {f.name for f in schema if pa.types.is_floating(f.type)}


def _concat(chunks: list[pa.Array]) -> pa.Array:
    """One array of the chunks (an empty text array for a file without rows)."""
    if not chunks:
        return pa.array([], pa.string())
    return pa.chunked_array(chunks).combine_chunks()
