"""Find and read the bundle's tables (train, test, solution) as CSV or Parquet, within caps.

CSV must be UTF-8 and comma-separated, with as many fields per row as the header (quoted
values may span lines). pyarrow reads every value as text; pandas' usual missing-value
markers (empty, ``NA``, ``NaN``, ``null``, ...) count as missing. Parquet keeps its own types.
Column names are checked on the raw header, before any reader could rename duplicates.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from datasets.core.errors import EXAMPLES, examples, plural

PARTS = ("train", "test", "solution")
FORMATS = ("csv", "parquet")
NAME_RE = re.compile(r"^[A-Za-z0-9_ .-]+$")
PANDAS_INDEX_RE = re.compile(r"^__index_level_\d+__$")
# pandas' default missing-value markers, so a bundle reads the same as with pd.read_csv.
NA_VALUES = [
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
]


@dataclass(frozen=True, eq=False)
class Table:
    """One part of the bundle as read from disk; ``name`` is its file name."""

    part: str
    name: str
    frame: pd.DataFrame


def read_part(
    folder: Path, part: str, problems: list[str], *, max_rows: int, max_file_bytes: int
) -> Table | None:
    """Read ``part`` (CSV or Parquet) from ``folder``; on failure add problems, return None."""
    found = [folder / f"{part}.{fmt}" for fmt in FORMATS if (folder / f"{part}.{fmt}").is_file()]
    if not found:
        problems.append(f"{part}.csv or {part}.parquet is missing")
        return None
    if len(found) > 1:
        problems.append(
            f"both {part}.csv and {part}.parquet are given; keep only one so it is clear which"
            " one to use"
        )
        return None
    path = found[0]
    size = path.stat().st_size
    if size > max_file_bytes:
        problems.append(
            f"{path.name} is {size:,} bytes, over the limit of {max_file_bytes:,} bytes"
        )
        return None
    reader = _read_csv if path.suffix == ".csv" else _read_parquet
    frame = reader(path, problems, max_rows=max_rows)
    return None if frame is None else Table(part, path.name, frame)


def _read_csv(path: Path, problems: list[str], *, max_rows: int) -> pd.DataFrame | None:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError as exc:
        problems.append(f"{path.name} is not UTF-8 text (byte {exc.start}); save it as UTF-8")
        return None
    except csv.Error as exc:
        problems.append(f"{path.name} could not be read as CSV: {exc}")
        return None
    if not header:
        problems.append(f"{path.name} is empty: it needs a header row and data rows")
        return None
    if not _names_ok(path.name, header, problems):
        return None
    ragged: list[str] = []  # the first few bad rows; the count is in ragged_count
    ragged_count = [0]

    def skip_ragged(row: pacsv.InvalidRow) -> str:
        ragged_count[0] += 1
        if len(ragged) < EXAMPLES:
            ragged.append(f"{_short(row.text)!r} ({row.actual_columns} fields)")
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=skip_ragged
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                null_values=NA_VALUES,
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc):
            problems.append(f"{path.name} is not UTF-8 text; save it as UTF-8")
        else:
            problems.append(f"{path.name} could not be read as CSV: {_short(str(exc), 200)}")
        return None
    if ragged:
        problems.append(
            f"{path.name}: {plural(ragged_count[0], 'row')} with a field count other than the"
            f" header's {len(header)} (an unclosed quote or a stray comma?): {', '.join(ragged)}"
        )
        return None
    if table.num_rows > max_rows:
        problems.append(f"{path.name} has {table.num_rows:,} rows, over the limit of {max_rows:,}")
        return None
    return table.to_pandas()


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _read_parquet(path: Path, problems: list[str], *, max_rows: int) -> pd.DataFrame | None:
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
        names = [n for n in schema.names if not PANDAS_INDEX_RE.match(n)]
        if not _names_ok(path.name, names, problems):
            return None
        nested = [f.name for f in schema if pa.types.is_nested(f.type)]
        if nested:
            problems.append(
                f"{path.name}: columns {examples(nested)} hold nested values (lists or structs);"
                " only flat columns are accepted"
            )
            return None
        if parquet.metadata.num_rows > max_rows:
            problems.append(
                f"{path.name} has {parquet.metadata.num_rows:,} rows, over the limit of"
                f" {max_rows:,}"
            )
            return None
        table = parquet.read(columns=names)
        frame = table.to_pandas(ignore_metadata=True)
    except (pa.ArrowException, OSError) as exc:
        problems.append(f"{path.name} could not be read as Parquet: {exc}")
        return None
    return frame


def _names_ok(file_name: str, names: list[str], problems: list[str]) -> bool:
    """Refuse empty, duplicated and oddly-charactered column names; hint at a wrong separator."""
    ok = True
    empty = [i + 1 for i, n in enumerate(names) if not n.strip()]
    if empty:
        problems.append(f"{file_name}: column {examples(empty)} of the header has no name")
        ok = False
    dupes = sorted({n for n in names if names.count(n) > 1 and n.strip()})
    if dupes:
        problems.append(f"{file_name}: column names appear more than once: {examples(dupes)}")
        ok = False
    bad = [n for n in names if n.strip() and not NAME_RE.match(n)]
    if len(names) == 1 and any(sep in names[0] for sep in ";\t|"):
        problems.append(
            f"{file_name} looks separated by ';', tab or '|' (header {examples(names)}); use commas"
        )
        return False
    if bad:
        problems.append(
            f"{file_name}: column names with characters other than letters, digits, '_', ' ',"
            f" '.' and '-': {examples(bad)}"
        )
    return ok
