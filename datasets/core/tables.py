"""Find the bundle's tables (train, test, solution) as CSV or Parquet and stream them, within caps.

CSV must be UTF-8 and comma-separated, with as many fields per row as the header (quoted
values may span lines). pyarrow reads every value as text; pandas' usual missing-value
markers (empty, ``NA``, ``NaN``, ``null``, ...) count as missing. Parquet keeps its own types.
Column names are checked on the raw header, before any reader could rename duplicates.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from common.wording import EXAMPLES, examples, plural

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


BATCH_ROWS = 131_072  # Parquet rows per batch (and per standardized row group)
CSV_BLOCK_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, eq=False)
class Table:
    """One part of the bundle on disk: ``name`` is its file name, ``columns`` its header.

    Nothing is held in memory: :meth:`batches` streams the raw values (CSV as text with
    pandas' missing-value markers as nulls, Parquet in its own types) one batch at a time.
    """

    part: str
    name: str
    path: Path
    columns: tuple[str, ...]
    row_bound: int  # an upper bound of the rows (exact for Parquet)

    @property
    def is_csv(self) -> bool:
        return self.path.suffix == ".csv"

    def batches(
        self,
        columns: list[str] | None = None,
        on_ragged: Callable[[pacsv.InvalidRow], str] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Raw record batches of ``columns`` (default: all), in file order."""
        if self.is_csv:
            yield from _csv_batches(self.path, self.columns, columns, on_ragged)
            return
        parquet = pq.ParquetFile(self.path)
        yield from parquet.iter_batches(
            batch_size=BATCH_ROWS, columns=list(columns or self.columns), use_threads=True
        )


def _csv_batches(
    path: Path,
    header: tuple[str, ...],
    columns: list[str] | None,
    on_ragged: Callable[[pacsv.InvalidRow], str] | None,
) -> Iterator[pa.RecordBatch]:
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=True, invalid_row_handler=on_ragged or (lambda row: "skip")
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()),
            null_values=NA_VALUES,
            strings_can_be_null=True,
            include_columns=list(columns) if columns is not None else None,
        ),
    )
    with reader:
        yield from reader


def read_part(
    folder: Path, part: str, problems: list[str], *, max_rows: int, max_file_bytes: int
) -> Table | None:
    """Find ``part`` (CSV or Parquet) in ``folder`` and check its header; None on failure.

    Only the header (CSV) or the schema (Parquet) is read here; :func:`scan_rows` reads the
    rows, and reports the problems a full read can find (bad quoting, not UTF-8, row cap).
    """
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
    if path.suffix == ".csv":
        header = _csv_header(path, problems)
        if header is None:
            return None
        bound = min(max_rows + 1, size // max(len(header), 1) + 1)
        return Table(part, path.name, path, tuple(header), bound)
    return _parquet_table(part, path, problems, max_rows=max_rows)


def scan_rows(
    table: Table,
    problems: list[str],
    *,
    max_rows: int,
    visit: Callable[[pa.RecordBatch, int], None],
    columns: list[str] | None = None,
    then: Callable[[], None] | None = None,
) -> int | None:
    """Stream every row of ``table`` once through ``visit(batch, first_row)``.

    ``columns`` (default: all) are the columns the batches hold; every row is still read.
    ``then`` runs after the last batch, its errors read as the batches' (``visit`` may
    leave work on a thread that ``then`` waits for). Returns the row count, or None after
    adding a problem (unreadable rows, over the cap); the caller then drops what ``visit``
    gathered.
    """
    ragged: list[str] = []  # the first few bad rows; the count is in ragged_count
    ragged_count = [0]

    def skip_ragged(row: pacsv.InvalidRow) -> str:
        ragged_count[0] += 1
        if len(ragged) < EXAMPLES:
            ragged.append(f"{_short(row.text)!r} ({row.actual_columns} fields)")
        return "skip"

    rows = 0
    try:
        for batch in table.batches(columns, on_ragged=skip_ragged):
            if rows + batch.num_rows <= max_rows and not ragged:
                visit(batch, rows)
            rows += batch.num_rows
        if then is not None:
            then()
    except pa.ArrowInvalid as exc:
        if not table.is_csv:
            problems.append(f"{table.name} could not be read as Parquet: {exc}")
        elif "UTF8" in str(exc):
            problems.append(f"{table.name} is not UTF-8 text; save it as UTF-8")
        else:
            problems.append(f"{table.name} could not be read as CSV: {_short(str(exc), 200)}")
        return None
    except (pa.ArrowException, OSError) as exc:
        kind = "CSV" if table.is_csv else "Parquet"
        problems.append(f"{table.name} could not be read as {kind}: {exc}")
        return None
    if ragged:
        problems.append(
            f"{table.name}: {plural(ragged_count[0], 'row')} with a field count other than the"
            f" header's {len(table.columns)} (an unclosed quote or a stray comma?):"
            f" {', '.join(ragged)}"
        )
        return None
    if rows > max_rows:
        problems.append(f"{table.name} has {rows:,} rows, over the limit of {max_rows:,}")
        return None
    return rows


def _csv_header(path: Path, problems: list[str]) -> list[str] | None:
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
    return header


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _parquet_table(part: str, path: Path, problems: list[str], *, max_rows: int) -> Table | None:
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
        rows = parquet.metadata.num_rows
        if rows > max_rows:
            problems.append(f"{path.name} has {rows:,} rows, over the limit of {max_rows:,}")
            return None
    except (pa.ArrowException, OSError) as exc:
        problems.append(f"{path.name} could not be read as Parquet: {exc}")
        return None
    return Table(part, path.name, path, tuple(names), rows)


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
