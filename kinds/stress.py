"""Stress test sets: perturbed copies of a task's test rows, one family per copy
(docs/organizers/stress.md).

Each kind names its *families* (``TaskKind.stress_families``): documented pure functions in
its own module (``kinds.matching.stress``, ``kinds.grouping.stress``,
``kinds.classification``'s, shared by regression) that perturb a table of rows without
changing what their labels mean. This module is what they share:

- the plan: which families a task uses, at what strength and share (``task.yaml`` /
  ``task.json`` ``stress: [{"family", "strength", "share"}]``; by default every family that
  applies to the task's columns), checked with a message for each problem
  (:func:`stress_plan`);
- the set: :func:`stress_test_set` samples rows (whole entities for grouping) for each
  family without replacement, so no original is sampled twice and the set is never larger
  than the clean one, perturbs them, gives every copy a fresh id of the clean ids' shape
  (:mod:`common.freshids`) and shuffles the rows; the originals are never in it. Its truth
  is each copy's original's label and split, and ``origin`` names the original's row.

Deterministic: the same inputs and seed give the same set, byte for byte.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from common.freshids import fresh_ids
from common.parallel import run_all
from common.wording import examples as quoted
from common.wording import quote

if TYPE_CHECKING:
    from kinds.base import TaskKind

Columns = tuple[tuple[str, str], ...]
"""The task's feature columns as ``(name, type)``, in file order (``Task.columns``)."""

TEXT_TYPES = ("text", "categorical")
MAX_FAMILIES = 32


@dataclass(frozen=True)
class StressContext:
    """What a family may read besides its rows: the task's columns, the training features
    (levels and spreads a family must stay clear of or scale to) and its rows' labels."""

    columns: Columns
    train: pa.Table
    labels: pa.Array


@dataclass(frozen=True)
class Perturbed:
    """A family's copies: the rows, and for each the row of the family's input it copies
    (None: row i copies row i). ``added``: the columns the family appended."""

    rows: pa.Table
    origin: np.ndarray | None = None
    added: Columns = ()


Perturb = Callable[..., Perturbed]
"""``perturb(rows, *, strength, rng, context) -> Perturbed``."""


@dataclass(frozen=True)
class StressFamily:
    """One family: its pure function, when it applies, and its strength's bounds.

    ``applies(columns)`` says why the family cannot apply to a task's columns (None: it
    can). ``wants(rows, context)`` marks the rows it can change (others are not sampled for
    it; a family that can change none is skipped, saying why). ``choose`` samples its rows
    itself (a duplicate-rate shift draws by label)."""

    name: str
    summary: str
    perturb: Perturb
    applies: Callable[[Columns], str | None]
    strength: float = 0.5
    low: float = 0.0  # strength > low
    high: float = 1.0  # strength <= high
    wants: Callable[[pa.Table, StressContext], np.ndarray] | None = None
    wants_reason: str = ""
    choose: Callable[..., np.ndarray] | None = None
    grows: bool = False  # may return up to (1 + strength) copies per row sampled
    reads_train: bool = False  # reads the training features (``StressContext.train``)


@dataclass(frozen=True)
class PlannedFamily:
    family: str
    strength: float
    share: float

    def as_json(self) -> dict[str, Any]:
        return {"family": self.family, "strength": self.strength, "share": self.share}


@dataclass(frozen=True, eq=False)
class StressSet:
    """A stress test set: ``test`` (id, the clean features in their order, then any added
    columns), its truth ``solution`` (id, label, split: the originals'), and per row its
    family (an index into ``families``) and its original's row in the clean test set."""

    test: pa.Table
    solution: pa.Table
    family: np.ndarray
    families: tuple[str, ...]
    origin: np.ndarray
    added: Columns = ()
    skipped: dict[str, str] = field(default_factory=dict)


class StressRefused(ValueError):
    """A stress plan that cannot be used; ``problems`` says each reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


# --- the plan --------------------------------------------------------------------------------


def _number(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def stress_plan(
    kind: TaskKind, columns: Columns, config: object, *, where: str = "stress"
) -> list[PlannedFamily]:
    """The families a task uses: ``config`` as ``task.yaml`` gives it (a list of
    ``{"family", "strength", "share"}``; ``strength`` and ``share`` optional), or every
    family that applies to ``columns`` when it is None. ``[]`` turns stress runs off.
    Raises :class:`StressRefused` listing every problem (``where`` leads each message)."""
    families = kind.stress_families()
    if config is None:
        chosen = [f for f in families.values() if f.applies(columns) is None]
        share = 1.0 / len(chosen) if chosen else 0.0
        return [PlannedFamily(f.name, f.strength, share) for f in chosen]
    if not isinstance(config, list | tuple):
        raise StressRefused(
            [f"{where} must be a list of {{family, strength, share}}, not {type(config).__name__}"]
        )
    problems: list[str] = []
    entries: list[tuple[str, float, float | None]] = []
    for i, item in enumerate(config[: MAX_FAMILIES + 1]):
        entry = _entry(kind, families, columns, item, f"{where}[{i}]", problems)
        if entry is not None:
            if any(e[0] == entry[0] for e in entries):
                problems.append(f"{where}[{i}]: the family '{entry[0]}' is named twice")
            else:
                entries.append(entry)
    if len(config) > MAX_FAMILIES:
        problems.append(f"{where}: at most {MAX_FAMILIES} families")
    given = sum(share for _, _, share in entries if share is not None)
    if given > 1 + 1e-9:
        problems.append(
            f"{where}: the shares add up to {given:g}; together they may take at most the"
            " clean test set's size (1)"
        )
    if problems:
        raise StressRefused(problems)
    open_ = [e for e in entries if e[2] is None]
    rest = max(0.0, 1.0 - given) / len(open_) if open_ else 0.0
    return [
        PlannedFamily(name, strength, rest if share is None else share)
        for name, strength, share in entries
    ]


def _entry(
    kind: TaskKind,
    families: Mapping[str, StressFamily],
    columns: Columns,
    item: object,
    where: str,
    problems: list[str],
) -> tuple[str, float, float | None] | None:
    if isinstance(item, str):
        item = {"family": item}
    if not isinstance(item, dict):
        problems.append(f"{where} must be a mapping with 'family' (and 'strength', 'share')")
        return None
    unknown = [str(k) for k in item if k not in ("family", "strength", "share")]
    if unknown:
        problems.append(
            f"{where}: unknown key {quoted(unknown)}; a family takes 'family', 'strength' and"
            " 'share'"
        )
    name = item.get("family")
    family = families.get(name) if isinstance(name, str) else None
    if family is None:
        close = difflib.get_close_matches(str(name)[:100], list(families), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        problems.append(
            f"{where}: unknown family {quote(name)} for {kind.name} tasks{hint}; the families"
            f" are: {', '.join(families) or 'none'}"
        )
        return None
    why = family.applies(columns)
    if why is not None:
        problems.append(f"{where}: '{family.name}' cannot apply to this task: {why}")
    strength = item.get("strength", family.strength)
    if not _number(strength) or not family.low < strength <= family.high:
        problems.append(
            f"{where}: the strength of '{family.name}' must be a number in"
            f" ({family.low:g}, {family.high:g}], not {quote(strength)}"
        )
        strength = family.strength
    share = item.get("share")
    if share is not None and (not _number(share) or not 0 < share <= 1):
        problems.append(
            f"{where}: the share of '{family.name}' must be a number in (0, 1] (of the clean"
            f" test rows), not {quote(share)}"
        )
        share = None
    return family.name, float(strength), None if share is None else float(share)


def train_columns(kind: TaskKind, columns: Columns, plan: Sequence[PlannedFamily]) -> list[str]:
    """The training feature columns a plan's families read (numbers' spreads, the levels
    train had): none for most plans, so a stress run reads only train's ids."""
    families = kind.stress_families()
    if not any(families[p.family].reads_train for p in plan if p.family in families):
        return []
    return [name for name, ctype in columns if ctype in ("numeric", "categorical")]


def plan_fingerprint(plan: Sequence[PlannedFamily]) -> str:
    """A short stable name of a plan (a stress run is made once per task data and plan)."""
    text = json.dumps([p.as_json() for p in plan], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- the set ---------------------------------------------------------------------------------


def _quotas(plan: Sequence[PlannedFamily], rows: int, max_rows: int | None) -> list[int]:
    scale = 1.0 if not max_rows or max_rows >= rows else max_rows / rows
    return [int(np.floor(p.share * rows * scale + 1e-9)) for p in plan]


def _rows_for(
    family: StressFamily,
    planned: PlannedFamily,
    quota: int,
    free: np.ndarray,
    test: pa.Table,
    context: StressContext,
    rng: np.random.Generator,
    order: np.ndarray,
) -> tuple[np.ndarray, str]:
    """The clean rows sampled for a family (row unit), or none and why."""
    candidates = free.copy()
    if family.wants is not None:
        candidates &= family.wants(test, context)
    if not candidates.any():
        return np.zeros(0, dtype=np.int64), family.wants_reason or "no row is left for it"
    if family.choose is not None:
        chosen = family.choose(
            candidates=candidates,
            labels=context.labels,
            n=quota,
            strength=planned.strength,
            rng=rng,
        )
    else:  # the first free candidates of one random order of the rows: a sample each
        chosen = np.sort(order[candidates[order]][:quota])
    return np.asarray(chosen, dtype=np.int64), ""


def _entities_for(
    quota: int, free: np.ndarray, entities: np.ndarray, rng: np.random.Generator, grow: float
) -> np.ndarray:
    """Whole entities, drawn at random, whose records (times ``grow``, what the family may
    add) fit in ``quota``: their rows."""
    codes = np.unique(entities[free])
    if not codes.size:
        return np.zeros(0, dtype=np.int64)
    sizes = np.bincount(entities[free], minlength=int(entities.max()) + 1)
    order = rng.permutation(codes)
    fits = np.cumsum(sizes[order]) * grow <= quota
    taken = np.zeros(sizes.size, dtype=bool)
    taken[order[fits]] = True
    return np.flatnonzero(free & taken[entities])


def stress_test_set(
    *,
    kind: TaskKind,
    test: pa.Table,
    labels: pa.Array,
    is_public: np.ndarray,
    train: pa.Table,
    columns: Columns,
    plan: Sequence[PlannedFamily],
    seed: int,
    avoid_ids: Sequence[pa.Array | pa.ChunkedArray] = (),
    max_rows: int | None = None,
) -> StressSet:
    """The stress test set of a task (see the module). ``test``: the clean test table (id
    and features); ``labels`` and ``is_public``: its solution's labels and split, in test's
    order; ``train``: the training features; ``avoid_ids``: ids the copies must not take
    besides the clean test ids (train's); ``max_rows``: a cap on the set's size."""
    families = kind.stress_families()
    rng = np.random.default_rng([seed, 0x57E55])
    n = test.num_rows
    names = [name for name, _ in columns]
    features = test.select(names).combine_chunks()  # one chunk: each family's take is a gather
    labels = labels.combine_chunks() if isinstance(labels, pa.ChunkedArray) else labels
    context = StressContext(columns=tuple(columns), train=train, labels=labels)
    entities = None
    if kind.unit == "entity":
        entities = (
            pc.dictionary_encode(labels.cast(pa.string()))
            .indices.to_numpy(zero_copy_only=False)
            .astype(np.int64)
        )
    free = np.ones(n, dtype=bool)
    quotas = _quotas(plan, n, max_rows)
    # Families that sample by their own rules draw first, while every row is free.
    order = sorted(
        range(len(plan)),
        key=lambda i: (
            families[plan[i].family].wants is None and families[plan[i].family].choose is None,
            i,
        ),
    )
    picked: dict[int, np.ndarray] = {}
    skipped: dict[str, str] = {}
    row_order = rng.permutation(n)
    for i in order:
        planned = plan[i]
        family = families[planned.family]
        if entities is not None:
            candidates = free if family.wants is None else free & family.wants(features, context)
            grow = 1.0 + max(0.0, planned.strength) if family.grows else 1.0
            rows = _entities_for(quotas[i], candidates, entities, rng, grow)
            why = "" if rows.size else "no entity is left for it"
            if family.wants is not None and not candidates.any():
                why = family.wants_reason
        else:
            rows, why = _rows_for(
                family, planned, quotas[i], free, features, context, rng, order=row_order
            )
        if rows.size == 0:
            skipped[planned.family] = why or "its share is too small for this test set"
            continue
        free[rows] = False
        picked[i] = rng.permutation(rows)  # copies in an order that says nothing of the clean one
    pieces, origins, codes, added = [], [], [], []
    kept = [i for i in range(len(plan)) if i in picked]

    def perturbed(i: int) -> Perturbed:
        """Family ``i``'s copies; each family has its own generator, so the families run
        on the threads in any order with the same result."""
        rows = picked[i]
        return families[plan[i].family].perturb(
            features.take(pa.array(rows)),
            strength=plan[i].strength,
            rng=np.random.default_rng([seed, 0x57E55, i + 1]),
            context=StressContext(
                columns=context.columns, train=train, labels=labels.take(pa.array(rows))
            ),
        )

    results = run_all([lambda i=i: perturbed(i) for i in kept], elements=n * max(1, len(columns)))
    for code, (i, result) in enumerate(zip(kept, results, strict=True)):
        rows = picked[i]
        local = np.arange(rows.size) if result.origin is None else np.asarray(result.origin)
        pieces.append(result.rows)
        origins.append(rows[local])
        codes.append(np.full(local.size, code, dtype=np.int32))
        added += [c for c in result.added if c not in added]
    return _assemble(
        test=test,
        labels=labels,
        is_public=is_public,
        pieces=pieces,
        origins=origins,
        codes=codes,
        families=tuple(plan[i].family for i in kept),
        added=tuple(added),
        skipped=skipped,
        rng=rng,
        avoid_ids=avoid_ids,
    )


def _assemble(
    *,
    test: pa.Table,
    labels: pa.Array,
    is_public: np.ndarray,
    pieces: list[pa.Table],
    origins: list[np.ndarray],
    codes: list[np.ndarray],
    families: tuple[str, ...],
    added: Columns,
    skipped: dict[str, str],
    rng: np.random.Generator,
    avoid_ids: Sequence[pa.Array | pa.ChunkedArray],
) -> StressSet:
    """One shuffled table of every family's copies, with fresh ids and their truth."""
    schema = test.schema.remove(test.schema.get_field_index("id"))
    for name, _ in added:
        schema = schema.append(pa.field(name, pa.string()))
    tables = [_conform(piece, schema) for piece in pieces] or [schema.empty_table()]
    body = pa.concat_tables(tables).combine_chunks()
    origin = np.concatenate([np.zeros(0, np.int64), *origins])
    family = np.concatenate([np.zeros(0, np.int32), *codes])
    # Each family's copies came in a random order: the families are interleaved at random
    # (a gather of a few sequential streams, not one random read per row).
    order = np.argsort(rng.permutation(family), kind="stable")  # positions, family by family
    interleave = np.empty(origin.size, dtype=np.int64)
    interleave[order] = np.arange(origin.size)
    body = body.take(pa.array(interleave))
    origin, family = origin[interleave], family[interleave]
    clean_ids = test["id"].combine_chunks().cast(pa.string())
    templates = clean_ids.take(pa.array(rng.integers(0, max(1, len(clean_ids)), size=origin.size)))
    ids = fresh_ids(templates, avoid=[clean_ids, *avoid_ids], rng=rng) if origin.size else templates
    stress = body.add_column(0, "id", ids)
    split = pa.DictionaryArray.from_arrays(
        pa.array(is_public[origin].astype(np.int8)), pa.array(["private", "public"])
    ).cast(pa.string())
    solution = pa.table({"id": ids, "label": labels.take(pa.array(origin)), "split": split})
    return StressSet(
        test=stress,
        solution=solution,
        family=family,
        families=families,
        origin=origin,
        added=added,
        skipped=skipped,
    )


def _conform(piece: pa.Table, schema: pa.Schema) -> pa.Table:
    """``piece`` with ``schema``'s columns, in its order and types (an added column another
    family made is null here)."""
    arrays = []
    for f in schema:
        if f.name in piece.column_names:
            arrays.append(piece[f.name].cast(f.type))
        else:
            arrays.append(pa.nulls(piece.num_rows, f.type))
    return pa.table(arrays, schema=schema)


# --- helpers the families share ----------------------------------------------------------------


def replace_rows(
    column: pa.Array | pa.ChunkedArray, mask: np.ndarray, values: pa.Array
) -> pa.Array:
    """``column`` with its rows where ``mask`` is True replaced, in order, by ``values``."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not mask.any():
        return column
    joined = pa.concat_arrays([column, values.cast(column.type)])
    index = np.arange(len(column), dtype=np.int64)
    index[mask] = len(column) + np.arange(int(mask.sum()))
    return joined.take(pa.array(index))


def edit_rows(
    table: pa.Table, name: str, mask: np.ndarray, edit: Callable[[pa.Array], pa.Array]
) -> pa.Table:
    """``table`` with ``edit`` applied to column ``name``'s rows where ``mask`` is True."""
    if not mask.any():
        return table
    column = table[name].combine_chunks()
    edited = edit(column.filter(pa.array(mask)))
    return table.set_column(
        table.schema.get_field_index(name), name, replace_rows(column, mask, edited)
    )


def of_types(columns: Columns, types: Sequence[str]) -> list[str]:
    return [name for name, ctype in columns if ctype in types]


def rotate_groups(
    table: pa.Table, groups: Sequence[Sequence[str]], mask: np.ndarray, rng: np.random.Generator
) -> pa.Table:
    """Within each group of columns (2+ of one type), the values of the rows where ``mask``
    holds moved by a random non-zero rotation (column j takes column j+k's value): a record
    whose columns came in another order."""
    n = table.num_rows
    for group in groups:
        m = len(group)
        if m < 2:
            continue
        k = rng.integers(1, m, size=n)
        originals = [table[c].combine_chunks() for c in group]
        for j, name in enumerate(group):
            out = originals[j]
            for shift in range(1, m):
                take = mask & (k == shift)
                if take.any():
                    source = originals[(j + shift) % m]
                    out = pc.if_else(pa.array(take), source.cast(out.type), out)
            table = table.set_column(table.schema.get_field_index(name), name, out)
    return table


def type_groups(names: Sequence[str], columns: Columns) -> list[list[str]]:
    """``names`` grouped by type (text and categorical together), groups of 2+ only."""
    types = dict(columns)
    groups: dict[str, list[str]] = {}
    for name in names:
        ctype = types.get(name, "text")
        groups.setdefault("text" if ctype in TEXT_TYPES else ctype, []).append(name)
    return [g for g in groups.values() if len(g) >= 2]


def noise_values(rows: pa.Table, sources: Sequence[str], rng: np.random.Generator) -> pa.Array:
    """Values drawn from random rows and random ``sources`` columns of ``rows``: words of
    the task's own vocabulary that say nothing about this row."""
    n = rows.num_rows
    pick_column = rng.integers(0, len(sources), size=n)
    pick_row = rng.integers(0, max(1, n), size=n)
    out = pa.nulls(n, pa.string())
    for j, name in enumerate(sources):
        here = pick_column == j
        if here.any():
            values = rows[name].combine_chunks().cast(pa.string()).take(pa.array(pick_row))
            out = pc.if_else(pa.array(here), values, out)
    return out


def free_names(existing: Sequence[str], stems: Sequence[str]) -> list[str]:
    """For each stem a name no column has (``stem``, else ``stem_2``, ...)."""
    taken = set(existing)
    names = []
    for stem in stems:
        name, i = stem, 2
        while name in taken:
            name, i = f"{stem}_{i}", i + 1
        taken.add(name)
        names.append(name)
    return names
