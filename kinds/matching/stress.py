"""The stress families of matching tasks (docs/organizers/stress.md): perturbed copies of candidate
pairs.

A pair is two records, ``left_<attr>`` and ``right_<attr>``; matching is symmetric, so a
pair's label survives any edit of one record that keeps it the same real-world thing, and
the two records trading places. The text families edit *one* record of the pair (its side
drawn per pair), so the two records of a match disagree the way two catalogs do. Each is a
pure function ``(rows, *, strength, rng, context) -> Perturbed`` over the text and
categorical attributes (``kinds.textnoise`` does the edits):

- ``typos``: character typos; ``token_drop``: words dropped; ``abbreviation``: long words
  shortened; ``case_punct``: case, whitespace and punctuation noise; ``transliteration``:
  non-ASCII text in ASCII (``unidecode``; sampled among pairs with such text);
- ``drop_attribute``: one attribute of one record blanked (2+ attributes needed);
- ``swap_values``: the two records trade places (every ``left_`` value with its ``right_``);
- ``shuffle_columns``: one record's values moved among its attributes of one type (a
  record whose columns arrived in another order; 2+ attributes of a type needed);
- ``noise_columns``: appended pairs of columns (``left_extra``/``right_extra``, 1 or 2
  pairs by strength) holding values of other pairs: attributes that say nothing;
- ``duplicate_rate``: the pairs are drawn with more matches (strength > 0: the match share
  moved that part of the way to 1) or fewer (strength < 0: cut by that part), unedited: a
  method whose predictions depend on the test set's make-up (a threshold set from the test
  scores) changes them.
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
    rotate_groups,
    type_groups,
)

SIDES = ("left_", "right_")


def attributes(columns: Columns, types: tuple[str, ...] | None = None) -> list[str]:
    """The attributes (``<attr>`` of ``left_<attr>``/``right_<attr>``), of ``types`` only
    when given, in file order."""
    names = dict(columns)
    out = []
    for name, ctype in columns:
        paired = name.startswith("left_") and f"right_{name[5:]}" in names
        if paired and (types is None or ctype in types):
            out.append(name[5:])
    return out


def _text_edit(
    edit: Callable[..., pa.Array], *, with_strength: bool = True
) -> Callable[..., Perturbed]:
    def perturb(
        rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
    ) -> Perturbed:
        left = rng.random(rows.num_rows) < 0.5
        for attr in attributes(context.columns, TEXT_TYPES):
            for side, mask in (("left_", left), ("right_", ~left)):
                if with_strength:
                    rows = edit_rows(
                        rows, side + attr, mask, lambda v: edit(v, strength=strength, rng=rng)
                    )
                else:
                    rows = edit_rows(rows, side + attr, mask, edit)
        return Perturbed(rows)

    return perturb


def typos(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """Character typos in every text attribute of one record of each pair."""
    return _text_edit(textnoise.typos)(rows, strength=strength, rng=rng, context=context)


def token_drop(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """Words dropped from every text attribute of one record of each pair."""
    return _text_edit(textnoise.token_drop)(rows, strength=strength, rng=rng, context=context)


def abbreviation(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """Long words abbreviated in every text attribute of one record of each pair."""
    return _text_edit(textnoise.abbreviate)(rows, strength=strength, rng=rng, context=context)


def case_punct(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """Case, whitespace and punctuation noise in one record of each pair."""
    return _text_edit(textnoise.case_punct)(rows, strength=strength, rng=rng, context=context)


def transliteration(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """One record's non-ASCII text written in ASCII (``Müller`` -> ``Muller``); the record
    with such text is the one edited when only one has some."""
    n = rows.num_rows
    texts = attributes(context.columns, TEXT_TYPES)
    has = {side: np.zeros(n, dtype=bool) for side in SIDES}
    for attr in texts:
        for side in SIDES:
            has[side] |= textnoise.non_ascii(rows[side + attr])
    coin = rng.random(n) < 0.5
    left = np.where(has["left_"] & has["right_"], coin, has["left_"] | (~has["right_"] & coin))
    for attr in texts:
        for side, mask in (("left_", left), ("right_", ~left)):
            rows = edit_rows(rows, side + attr, mask, textnoise.transliterate)
    return Perturbed(rows)


def _non_ascii_rows(rows: pa.Table, context: StressContext) -> np.ndarray:
    out = np.zeros(rows.num_rows, dtype=bool)
    for attr in attributes(context.columns, TEXT_TYPES):
        for side in SIDES:
            out |= textnoise.non_ascii(rows[side + attr])
    return out


def drop_attribute(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """One attribute of one record blanked per pair (the attribute and the side drawn)."""
    attrs = attributes(context.columns)
    n = rows.num_rows
    which = rng.integers(0, len(attrs), size=n)
    left = rng.random(n) < 0.5
    for j, attr in enumerate(attrs):
        for side, mask in (("left_", left), ("right_", ~left)):
            rows = edit_rows(rows, side + attr, mask & (which == j), textnoise.blank)
    return Perturbed(rows)


def swap_values(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """The two records trade places: every ``left_<attr>`` value with its ``right_<attr>``."""
    out = rows
    for attr in attributes(context.columns):
        left, right = rows["left_" + attr], rows["right_" + attr]
        out = out.set_column(out.schema.get_field_index("left_" + attr), "left_" + attr, right)
        out = out.set_column(out.schema.get_field_index("right_" + attr), "right_" + attr, left)
    return Perturbed(out)


def shuffle_columns(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """One record's values rotated among its attributes of one type (text and categorical
    count as one)."""
    attrs = attributes(context.columns)
    left = rng.random(rows.num_rows) < 0.5
    for side, mask in (("left_", left), ("right_", ~left)):
        groups = type_groups([side + a for a in attrs], context.columns)
        rows = rotate_groups(rows, groups, mask, rng)
    return Perturbed(rows)


def noise_columns(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """Appended pairs of columns holding values of other pairs (1 pair, 2 above strength 0.5)."""
    sources = [side + a for a in attributes(context.columns, TEXT_TYPES) for side in SIDES]
    pairs = 1 if strength <= 0.5 else 2
    stems = [f"extra{'' if i == 0 else i + 1}" for i in range(pairs)]
    existing = [name.removeprefix("left_").removeprefix("right_") for name, _ in context.columns]
    attrs = free_names(existing, stems)
    added: list[tuple[str, str]] = []
    for attr in attrs:
        for side in SIDES:
            rows = rows.append_column(side + attr, noise_values(rows, sources, rng))
            added.append((side + attr, "text"))
    return Perturbed(rows, added=tuple(added))


def duplicate_rate(
    rows: pa.Table, *, strength: float, rng: np.random.Generator, context: StressContext
) -> Perturbed:
    """The pairs as drawn (:func:`choose_duplicate_rate` shifted their match share)."""
    return Perturbed(rows)


def choose_duplicate_rate(
    *, candidates: np.ndarray, labels: pa.Array, n: int, strength: float, rng: np.random.Generator
) -> np.ndarray:
    """Up to ``n`` candidate rows whose share of matches is the clean one moved by
    ``strength`` (towards 1 when positive, towards 0 when negative)."""
    y = np.asarray(pc.cast(labels, pa.int64()).to_numpy(zero_copy_only=False)) == 1
    pos, neg = np.flatnonzero(candidates & y), np.flatnonzero(candidates & ~y)
    base = y.mean() if y.size else 0.0
    target = base + strength * (1 - base) if strength >= 0 else base * (1 + strength)
    target = float(np.clip(target, 0.0, 1.0))
    total = n
    if target > 0:
        total = min(total, int(pos.size / target))
    if target < 1:
        total = min(total, int(neg.size / (1 - target)))
    n_pos = round(target * total)
    chosen = np.concatenate(
        [
            rng.choice(pos, size=min(n_pos, pos.size), replace=False),
            rng.choice(neg, size=min(total - n_pos, neg.size), replace=False),
        ]
    )
    return np.sort(chosen.astype(np.int64))


# --- when each applies -------------------------------------------------------------------------


def _needs_text(columns: Columns) -> str | None:
    if attributes(columns, TEXT_TYPES):
        return None
    return "it has no text or categorical attribute (left_<attr>/right_<attr>) to edit"


def _needs_two(columns: Columns) -> str | None:
    attrs = attributes(columns)
    if len(attrs) >= 2:
        return None
    only = attrs[0] if attrs else "none"
    return f"it has one attribute ({only}); dropping it leaves nothing to match"


def _needs_group(columns: Columns) -> str | None:
    if type_groups(["left_" + a for a in attributes(columns)], columns):
        return None
    return "no two of its attributes have one type, so there is no other order to read them in"


def _always(columns: Columns) -> str | None:
    return None if attributes(columns) else "it has no left_<attr>/right_<attr> pair"


FAMILIES: dict[str, StressFamily] = {
    f.name: f
    for f in (
        StressFamily("typos", "character typos in one record", typos, _needs_text),
        StressFamily("token_drop", "words dropped from one record", token_drop, _needs_text),
        StressFamily(
            "abbreviation", "long words abbreviated in one record", abbreviation, _needs_text
        ),
        StressFamily("case_punct", "case, spacing and punctuation noise", case_punct, _needs_text),
        StressFamily(
            "transliteration",
            "non-ASCII text written in ASCII in one record",
            transliteration,
            _needs_text,
            wants=_non_ascii_rows,
            wants_reason="no pair has text outside ASCII to transliterate",
        ),
        StressFamily(
            "drop_attribute", "one attribute of one record blanked", drop_attribute, _needs_two
        ),
        StressFamily("swap_values", "the two records trade places", swap_values, _always),
        StressFamily(
            "shuffle_columns",
            "one record's columns in another order",
            shuffle_columns,
            _needs_group,
        ),
        StressFamily(
            "noise_columns", "appended columns of unrelated values", noise_columns, _needs_text
        ),
        StressFamily(
            "duplicate_rate",
            "more (or fewer) true matches among the pairs",
            duplicate_rate,
            _always,
            low=-1.0,
            choose=choose_duplicate_rate,
        ),
    )
}
