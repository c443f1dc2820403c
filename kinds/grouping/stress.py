"""The stress families of grouping tasks (docs/organizers/stress.md): perturbed copies of whole
entities.

A grouping test set's unit is the entity: every record of an entity sampled for a family is
copied with that family's edit, so the copies form the same entities as their originals
(their truth). Each family is a pure function ``(rows, *, strength, rng, context) ->
Perturbed`` (text edits from ``kinds.textnoise``):

- ``typos``, ``token_drop``, ``abbreviation``, ``case_punct``, ``transliteration``: the
  edit in every text and categorical column of each record (transliteration sampled among
  entities with text outside ASCII);
- ``drop_attribute``: one column of each record blanked (2+ columns needed);
- ``swap_values``: two columns of one type trade values in each record;
- ``shuffle_columns``: each record's values rotated among its columns of one type;
- ``noise_columns``: an appended column (``extra``; two above strength 0.5) of values from
  other records;
- ``duplicate_rate``: more records per entity (strength > 0: each record also copied with
  that probability, a second copy with a fresh id) or fewer (strength < 0: each record
  dropped with that probability, one kept per entity).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kinds import textnoise
from kinds.stress import (
    TEXT_TYPES,
    Columns,
    Perturbed,
    StressContext,
    StressFamily,
    edit_rows,
    free_names,
    noise_values,
    of_types,
    rotate_groups,
    type_groups,
)


def _every_text(
    edit: Callable[..., pa.Array], rows: pa.Table, context: StressContext, **kw
) -> Perturbed:
    everyone = np.ones(rows.num_rows, dtype=bool)
    for name in of_types(context.columns, TEXT_TYPES):
        rows = edit_rows(rows, name, everyone, (lambda v: edit(v, **kw)) if kw else edit)
    return Perturbed(rows)


def typos(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """Character typos in every text column of each record."""
    return _every_text(textnoise.typos, rows, context, strength=strength, rng=rng)


def token_drop(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """Words dropped from every text column of each record."""
    return _every_text(textnoise.token_drop, rows, context, strength=strength, rng=rng)


def abbreviation(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """Long words abbreviated in every text column of each record."""
    return _every_text(textnoise.abbreviate, rows, context, strength=strength, rng=rng)


def case_punct(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """Case, whitespace and punctuation noise in every text column of each record."""
    return _every_text(textnoise.case_punct, rows, context, strength=strength, rng=rng)


def transliteration(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """Non-ASCII text written in ASCII in every text column of each record."""
    return _every_text(textnoise.transliterate, rows, context)


def _non_ascii_entities(rows: pa.Table, context: StressContext) -> np.ndarray:
    """Records of entities with some text outside ASCII (the entity is the unit)."""
    has = np.zeros(rows.num_rows, dtype=bool)
    for name in of_types(context.columns, TEXT_TYPES):
        has |= textnoise.non_ascii(rows[name])
    codes = pc.dictionary_encode(context.labels.cast(pa.string())).indices.to_numpy(
        zero_copy_only=False
    )
    with_text = np.zeros(int(codes.max()) + 1 if codes.size else 0, dtype=bool)
    with_text[codes[has]] = True
    return with_text[codes] if codes.size else has


def drop_attribute(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """One column of each record blanked (drawn per record)."""
    names = [name for name, _ in context.columns]
    which = rng.integers(0, len(names), size=rows.num_rows)
    for j, name in enumerate(names):
        rows = edit_rows(rows, name, which == j, textnoise.blank)
    return Perturbed(rows)


def swap_values(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """Two columns of one type trade values in each record (the pair drawn per record)."""
    groups = type_groups([name for name, _ in context.columns], context.columns)
    n = rows.num_rows
    group_of = rng.integers(0, len(groups), size=n)
    for g, group in enumerate(groups):
        first = rng.integers(0, len(group), size=n)
        second = (first + rng.integers(1, len(group), size=n)) % len(group)
        originals = [rows[c].combine_chunks() for c in group]
        for j, name in enumerate(group):
            out = originals[j]
            for other in range(len(group)):
                if other == j:
                    continue
                take = (group_of == g) & (
                    ((first == j) & (second == other)) | ((second == j) & (first == other))
                )
                if take.any():
                    out = pc.if_else(pa.array(take), originals[other].cast(out.type), out)
            rows = rows.set_column(rows.schema.get_field_index(name), name, out)
    return Perturbed(rows)


def shuffle_columns(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """Each record's values rotated among its columns of one type."""
    groups = type_groups([name for name, _ in context.columns], context.columns)
    return Perturbed(rotate_groups(rows, groups, np.ones(rows.num_rows, dtype=bool), rng))


def noise_columns(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """Appended columns of values from other records (one; two above strength 0.5)."""
    sources = of_types(context.columns, TEXT_TYPES)
    stems = ["extra"] if strength <= 0.5 else ["extra", "extra2"]
    added = []
    for name in free_names([n for n, _ in context.columns], stems):
        rows = rows.append_column(name, noise_values(rows, sources, rng))
        added.append((name, "text"))
    return Perturbed(rows, added=tuple(added))


def duplicate_rate(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """More records per entity (copies, each record with probability ``strength``) or fewer
    (each record dropped with probability ``-strength``, one kept per entity)."""
    n = rows.num_rows
    if strength >= 0:
        extra = np.flatnonzero(rng.random(n) < strength)
        origin = rng.permutation(np.concatenate([np.arange(n), extra]))  # copies apart
        return Perturbed(rows.take(pa.array(origin)), origin=origin)
    codes = pc.dictionary_encode(context.labels.cast(pa.string())).indices.to_numpy(
        zero_copy_only=False
    )
    keep = rng.random(n) >= -strength
    key = rng.random(n)
    best = np.full(int(codes.max()) + 1 if n else 0, -1.0)
    np.maximum.at(best, codes, key)
    keep |= key == best[codes]  # one record of each entity always stays
    origin = np.flatnonzero(keep)
    return Perturbed(rows.take(pa.array(origin)), origin=origin)


def _needs_text(columns: Columns) -> str | None:
    return None if of_types(columns, TEXT_TYPES) else "it has no text or categorical column to edit"


def _needs_two(columns: Columns) -> str | None:
    if len(columns) >= 2:
        return None
    return "it has one column; blanking it leaves nothing to group by"


def _needs_group(columns: Columns) -> str | None:
    if type_groups([name for name, _ in columns], columns):
        return None
    return "no two of its columns have one type, so none can trade values"


def _always(columns: Columns) -> str | None:
    return None


FAMILIES: dict[str, StressFamily] = {
    f.name: f
    for f in (
        StressFamily("typos", "character typos", typos, _needs_text),
        StressFamily("token_drop", "words dropped", token_drop, _needs_text),
        StressFamily("abbreviation", "long words abbreviated", abbreviation, _needs_text),
        StressFamily("case_punct", "case, spacing and punctuation noise", case_punct, _needs_text),
        StressFamily(
            "transliteration",
            "non-ASCII text written in ASCII",
            transliteration,
            _needs_text,
            wants=_non_ascii_entities,
            wants_reason="no entity has text outside ASCII to transliterate",
        ),
        StressFamily(
            "drop_attribute", "one column of each record blanked", drop_attribute, _needs_two
        ),
        StressFamily("swap_values", "two columns trade values", swap_values, _needs_group),
        StressFamily("shuffle_columns", "columns in another order", shuffle_columns, _needs_group),
        StressFamily(
            "noise_columns", "appended columns of unrelated values", noise_columns, _needs_text
        ),
        StressFamily(
            "duplicate_rate",
            "more (or fewer) records per entity",
            duplicate_rate,
            _always,
            low=-1.0,
            grows=True,
        ),
    )
}
