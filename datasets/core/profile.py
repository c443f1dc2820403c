"""What one streaming pass learns about a raw feature column, in memory bounded by a cap.

A :class:`ColumnProfile` is fed the raw values of one column of one file, batch by batch.
It keeps counts and flags (numbers? image-like paths? integral floats?), the distinct
values only while there are at most ``distinct_cap`` of them (enough to decide
"categorical"), the non-numbers of a column declared numeric (to report them), and the
distinct paths of a possible image column. Profiles of train and test (and of the two sides
of a matching pair) merge, so the type is decided over all of them as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from common.coerce import (
    as_numbers,
    as_text,
    float_integral,
    is_float,
    is_null_type,
    is_number,
    plain,
)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
IMAGE_RE = r"(?i)\.(" + "|".join(e[1:] for e in IMAGE_EXTENSIONS) + r")$"
SAMPLE = 1000  # values parsed first, before a whole batch, to find a text column early
IMAGE_PROBES = 1000  # distinct paths looked up under images/ to infer an image column


class Distinct:
    """Distinct values (order of first appearance) while there are at most ``cap``."""

    def __init__(self, cap: int, *, keep_first: bool = False) -> None:
        self.cap = cap
        self.keep_first = keep_first  # past the cap, keep the first ``cap`` values
        self.overflow = False
        self._parts: list[pa.Array] = []
        self._known = 0  # distinct count at the last merge
        self._pending = 0

    def add(self, values: pa.Array) -> None:
        if self.overflow:
            return  # past the cap (or, keeping the first values, full)
        unique = pc.unique(pc.drop_null(values))
        self._parts.append(unique)
        self._pending += len(unique)
        # Merged when the pending values double what is known (amortized), or could take
        # it past the cap: a column of mostly distinct text stops being read sooner.
        if self._pending > max(self._known, 4096) or self._known + self._pending > self.cap:
            self._merge()

    def _merge(self) -> None:
        if len(self._parts) > 1:
            self._parts = [pc.unique(pa.concat_arrays(self._parts))]
        self._known = len(self._parts[0]) if self._parts else 0
        self._pending = 0
        if self._known > self.cap and self.keep_first:
            self._parts, self._known = [self._parts[0][: self.cap]], self.cap
            self.overflow = True
        elif self._known > self.cap:
            self.overflow, self._parts = True, []

    def values(self) -> pa.Array | None:
        """The distinct values, or None when there were more than ``cap``."""
        self._merge()
        if self.overflow and not self.keep_first:
            return None
        return self._parts[0] if self._parts else pa.array([], pa.string())

    def merged(self, other: Distinct) -> Distinct:
        out = Distinct(max(self.cap, other.cap), keep_first=self.keep_first)
        self._merge()
        other._merge()
        out.overflow = self.overflow or other.overflow
        if not out.overflow or out.keep_first:
            out._parts = [*self._parts, *other._parts]
            out._merge()
        return out


@dataclass
class ColumnProfile:
    """Running facts about one raw column (see the module docstring)."""

    distinct_cap: int
    keep_bad_numbers: bool = False  # declared numeric: keep every non-number to report it
    track_paths: bool = False  # possible image column: keep the distinct paths
    declared_image: bool = False  # keep the paths even when they don't look like images
    infer: bool = True  # gather what type inference needs (not for a declared column)
    # The type groups (a column, or a matching pair) that one profile has already shown to
    # be text whatever else they hold (:meth:`decides_text`), shared by the profiles of a
    # bundle: a profile of such a group gathers no more text facts (``group``: its own).
    settled: set[str] | None = None
    group: str = ""
    rows: int = 0
    present: int = 0
    numeric: bool = True
    boolean: bool = False
    integral: bool = True  # floats only: every value whole (their text drops ".0")
    text_length: int = 0
    image_like: bool = True
    bad_rows: int = 0
    bad_values: list[pa.Array] = field(default_factory=list)
    distinct: Distinct | None = None
    probes: Distinct | None = None
    paths: list[pa.Table] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.distinct = Distinct(self.distinct_cap)
        self.probes = Distinct(IMAGE_PROBES, keep_first=True)

    def add(self, raw: pa.Array) -> None:
        """Feed one batch of the column's raw values."""
        raw = plain(raw)
        self.rows += len(raw)
        if pa.types.is_boolean(raw.type):
            self.boolean = True
        if is_float(raw) and self.integral:
            self.integral = float_integral(raw)
        if is_number(raw) or is_null_type(raw):
            # native numbers are numeric: nothing to parse, no text facts
            self.present += len(raw) - (pc.sum(pc.is_null(raw, nan_is_null=True)).as_py() or 0)
            return
        if self.infer and self.settled is not None and self.group in self.settled:
            return  # text, whatever this batch holds: nothing more to learn from its text
        text = as_text(raw)
        present = len(raw) - text.null_count
        self.present += present
        self._add_numbers(raw, text)
        if self.infer:
            self._add_text(text, present)
            if self.settled is not None and self.decides_text:
                self.settled.add(self.group)
        else:
            self._add_paths(text, present)  # a declared type needs no text facts

    @property
    def decides_text(self) -> bool:
        """Whether this profile alone makes its group text, whatever the others hold: it
        merges (:func:`merge`) into one that is not numeric, not image-like and has more
        distinct values than any categorical column may
        (``datasets.core.infer.infer_from_profile``)."""
        distinct = self.distinct
        overflow = distinct is not None and distinct.overflow
        return self.infer and overflow and not self.numeric and not self.image_like

    def _add_numbers(self, raw: pa.Array, text: pa.Array) -> None:
        """Whether the batch's text values are all numbers, and which are not when the
        column is declared numeric."""
        if self.numeric and self.infer and not self.keep_bad_numbers:
            # Most text columns fail on their first values: don't parse the whole batch.
            _, bad = as_numbers(text[:SAMPLE])
            if pc.any(bad).as_py():
                self.numeric = False
        if self.keep_bad_numbers or (self.numeric and self.infer):
            _, bad = as_numbers(raw)
            count = pc.sum(bad).as_py() or 0
            if count:
                self.numeric = False
                self.bad_rows += count
                if self.keep_bad_numbers:
                    self.bad_values.append(pc.unique(pc.filter(text, bad)))

    def _add_text(self, text: pa.Array, present: int) -> None:
        """The text facts type inference reads: length, distinct values, image paths."""
        self.text_length += pc.sum(pc.utf8_length(text)).as_py() or 0
        self.distinct.add(text)
        if self.image_like and present:
            present_text = pc.drop_null(text)
            if not _all_image_like(present_text[:SAMPLE]) or not _all_image_like(present_text):
                self.image_like = False
                if not self.declared_image:
                    self.paths, self.track_paths = [], False
            else:
                self.probes.add(present_text)
        self._add_paths(text, present)

    def _add_paths(self, text: pa.Array, present: int) -> None:
        if self.track_paths and present:
            counts = pc.value_counts(pc.drop_null(text)).flatten()
            self.paths.append(pa.table({"value": counts[0], "count": counts[1]}))

    @property
    def all_numeric(self) -> bool:
        return self.numeric and not self.boolean

    def bad_distinct(self) -> list[str]:
        """Distinct non-numbers, in the order they first appear."""
        if not self.bad_values:
            return []
        return pc.unique(pa.concat_arrays(self.bad_values)).to_pylist()

    def path_counts(self) -> pa.Table:
        """Distinct paths (order of first appearance) and their row counts."""
        if not self.paths:
            return pa.table({"value": pa.array([], pa.string()), "count": pa.array([], pa.int64())})
        merged = pa.concat_tables(self.paths).group_by("value", use_threads=False)
        return merged.aggregate([("count", "sum")]).rename_columns(["value", "count"])


def _all_image_like(paths: pa.Array) -> bool:
    return bool(pc.all(pc.match_substring_regex(paths, IMAGE_RE)).as_py())


def merge(profiles: list[ColumnProfile]) -> ColumnProfile:
    """One profile for the values of several columns or files together."""
    out = ColumnProfile(distinct_cap=max(p.distinct_cap for p in profiles))
    out.distinct = profiles[0].distinct
    out.probes = profiles[0].probes
    for i, p in enumerate(profiles):
        out.rows += p.rows
        out.present += p.present
        out.numeric = out.numeric and p.numeric
        out.boolean = out.boolean or p.boolean
        out.text_length += p.text_length
        out.image_like = out.image_like and p.image_like
        if i:
            out.distinct = out.distinct.merged(p.distinct)
            out.probes = out.probes.merged(p.probes)
    return out
