"""Read a submission (CSV, gzipped CSV or Parquet, sniffed from its bytes) into Arrow.

Only ``id``, ``label``, ``cluster`` (grouping), ``score`` and ``proba_*`` columns are
kept; other columns are ignored (a pandas index column, a note...). In CSV, ``id``,
``label`` and ``cluster`` are read as strings and ``score``/``proba_*`` as float64 whatever
the task's kind, so a non-numeric ``score`` is refused even where the kind would ignore it.
A gzipped file may not unpack to more than ``max_bytes`` either.

Given ``test_rows`` (the task's test rows), memory is bounded before decoding: a file
declaring far more rows than the task, or columns that would unpack to far more bytes,
is refused (``bounds``).
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from common.arrowtools import is_text
from common.parallel import run_all, threads
from common.refusals import SubmissionInvalid, count, examples, show
from scoring.core import bounds, idpages, labelpages
from scoring.core.idpages import ExpectedIds

Source = str | os.PathLike[str] | BinaryIO

FORMAT_CSV = "csv"
FORMAT_CSV_GZ = "csv.gz"
FORMAT_PARQUET = "parquet"

_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = b"\xef\xbb\xbf"
_HEADER_SCAN = 1 << 20
_TEXT = ("id", "label", "cluster")


@dataclass(frozen=True)
class SubmissionFile:
    """A parsed submission and the format its bytes were in."""

    table: pa.Table
    format: str


def is_value_column(name: str) -> bool:
    """True for the columns scoring reads; any other column is ignored."""
    return name in ("id", "label", "cluster", "score") or name.startswith("proba_")


def _has_keys(names: list[str]) -> bool:
    """``id`` and ``label``, or ``id`` and ``cluster`` for a grouping submission."""
    return "id" in names and ("label" in names or "cluster" in names)


def read_submission(
    source: Source, *, max_bytes: int | None = None, test_rows: int | None = None
) -> pa.Table:
    """Parse a submission file; raise SubmissionInvalid when it cannot be read."""
    return read_submission_file(source, max_bytes=max_bytes, test_rows=test_rows).table


def read_submission_file(
    source: Source,
    *,
    max_bytes: int | None = None,
    test_rows: int | None = None,
    expected_ids: ExpectedIds | None = None,
) -> SubmissionFile:
    """Like ``read_submission``, also telling which format was found.

    Given ``expected_ids`` (the solution's ids laid out, ``scoring.core.idpages``) and
    ``test_rows``, a Parquet file's id column is first proven from its pages to be those
    ids in order; when it is, the table's id column is the solution's own array (the
    alignment then has nothing to place) and the column is not decoded."""
    buf = _load(source, max_bytes)
    head = buf.slice(0, min(buf.size, 4)).to_pybytes()
    if head.startswith(_PARQUET_MAGIC):
        table, fmt = _read_parquet(buf, test_rows, expected_ids), FORMAT_PARQUET
    elif head.startswith(_GZIP_MAGIC):
        unpack_limit = max_bytes
        if test_rows is not None:
            text = bounds.text_limit(test_rows)
            unpack_limit = text if max_bytes is None else min(max_bytes, text)
        table, fmt = _read_csv(_gunzip(buf, unpack_limit), test_rows), FORMAT_CSV_GZ
    else:
        table, fmt = _read_csv(buf, test_rows), FORMAT_CSV
    if table.num_rows == 0 and _has_keys(table.column_names):
        raise SubmissionInvalid("The file names its columns but has no rows.")
    return SubmissionFile(table, fmt)


def _load(source: Source, max_bytes: int | None) -> pa.Buffer:
    if isinstance(source, str | os.PathLike):
        _check_size(os.stat(source).st_size, max_bytes)
        with pa.memory_map(os.fspath(source)) as f:
            buf = f.read_buffer()  # zero-copy; stays valid after close
    else:
        data = source.read() if max_bytes is None else source.read(max_bytes + 1)
        _check_size(len(data), max_bytes)
        buf = pa.py_buffer(data)
    _refuse_empty_or_foreign(buf)
    return buf


def _check_size(size: int, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        raise SubmissionInvalid(
            f"The file is larger than the limit of {_size(max_bytes)}."
            if size == max_bytes + 1
            else f"The file is {_size(size)}; the limit is {_size(max_bytes)}."
        )


_size = bounds.size


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split()).rstrip(".")


def _refuse_empty_or_foreign(buf: pa.Buffer, inside_gzip: bool = False) -> None:
    where = "The gzip file unpacks to" if inside_gzip else "The file is"
    if buf.size == 0 or (buf.size <= 4096 and not buf.to_pybytes().strip()):
        raise SubmissionInvalid(f"{where} an empty file." if inside_gzip else "The file is empty.")
    head = buf.slice(0, min(buf.size, 4)).to_pybytes()
    if head.startswith(_ZIP_MAGIC):
        raise SubmissionInvalid(
            f"{where} a ZIP archive or an Excel workbook; upload a CSV, gzipped CSV or "
            "Parquet file."
        )
    if head.startswith(_UTF16_BOMS):
        raise SubmissionInvalid(f"{where} UTF-16 text; save it as UTF-8 CSV.")


def _gunzip(buf: pa.Buffer, max_bytes: int | None) -> pa.Buffer:
    try:
        stream = pa.CompressedInputStream(pa.BufferReader(buf), "gzip")
        out = stream.read_buffer() if max_bytes is None else stream.read_buffer(max_bytes + 1)
    except (pa.ArrowException, OSError) as exc:
        raise SubmissionInvalid(
            f"The file starts like a gzip file but does not decompress ({_reason(exc)})."
        ) from None
    if max_bytes is not None and out.size > max_bytes:
        raise SubmissionInvalid(
            f"The gzip file unpacks to more than the limit of {_size(max_bytes)}."
        )
    _refuse_empty_or_foreign(out, inside_gzip=True)
    head = out.slice(0, min(out.size, 4)).to_pybytes()
    if head.startswith(_PARQUET_MAGIC):
        raise SubmissionInvalid("Gzipped Parquet is not accepted; upload the .parquet file as is.")
    if head.startswith(_GZIP_MAGIC):
        raise SubmissionInvalid("The file is gzipped twice; gzip the CSV file once.")
    return out


def _check_names(names: list[str]) -> None:
    twice = [name for name, n in Counter(names).items() if n > 1]
    if twice:
        raise SubmissionInvalid(
            f"The file has {count(len(twice), 'duplicate column name')}: {examples(twice)}. "
            "Each column must appear once."
        )


def _read_parquet(
    buf: pa.Buffer, test_rows: int | None, expected_ids: ExpectedIds | None = None
) -> pa.Table:
    try:
        parquet = pq.ParquetFile(pa.BufferReader(buf))  # reads the footer only
        schema = parquet.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        raise SubmissionInvalid(
            f"The file is not a readable Parquet file ({_reason(exc)})."
        ) from None
    _check_names(schema.names)
    if not _has_keys(schema.names):
        return schema.empty_table()
    columns = [n for n in schema.names if is_value_column(n)]
    as_dictionary = (
        ["label"] if "label" in schema.names and is_text(schema.field("label").type) else []
    )
    try:
        if as_dictionary:  # few distinct values: skip building strings
            parquet = pq.ParquetFile(pa.BufferReader(buf), read_dictionary=as_dictionary)
        if test_rows is None:
            table = parquet.read(columns=columns)
            _refuse_undecodable(table)
        else:
            table = _read_parquet_bounded(
                buf, parquet, columns, as_dictionary, test_rows, expected_ids
            )
    except (pa.ArrowException, OSError) as exc:
        raise SubmissionInvalid(
            f"The Parquet file is damaged and cannot be read ({_reason(exc)})."
        ) from None
    return table


def _refuse_undecodable(table: pa.Table, trusted: Collection[str] = ()) -> None:
    """What Arrow does not check when it decodes Parquet, checked here for every column
    but the ``trusted`` (the solution's own ids): a dictionary-coded value whose index is
    past its dictionary, and text that is not UTF-8 (CSV text is checked as it is parsed;
    10M ids take 0.04 s of one thread). Either would otherwise fail wherever the column is
    read later (the ids' shape, a label turned into text or shown in a message), in no
    words of the reader's."""
    checks = []
    for name in table.column_names:
        if name in trusted:
            continue
        column = table[name]
        if pa.types.is_dictionary(column.type):
            checks += [partial(_dictionary_checked, name, chunk) for chunk in column.chunks]
        elif is_text(column.type):
            checks += [partial(_utf8_checked, name, chunk) for chunk in column.chunks]
    for problem in run_all(checks, elements=table.num_rows * table.num_columns):
        if problem:
            raise SubmissionInvalid(problem)


def _dictionary_checked(name: str, chunk: pa.DictionaryArray) -> str | None:
    found = pc.min_max(chunk.indices)
    low, high = found["min"].as_py(), found["max"].as_py()
    if low is not None and (low < 0 or high >= len(chunk.dictionary)):
        return (
            "The Parquet file is damaged and cannot be read (a value of column "
            f"{show(name)} is not one of its dictionary's)."
        )
    return _utf8_checked(name, chunk.dictionary) if is_text(chunk.dictionary.type) else None


def _utf8_checked(name: str, chunk: pa.Array) -> str | None:
    try:
        chunk.validate(full=True)
    except pa.ArrowInvalid:
        return f"Column {show(name)} holds text that is not UTF-8. Save the file's text as UTF-8."
    return None


def _read_parquet_bounded(
    buf: pa.Buffer,
    parquet: pq.ParquetFile,
    columns: list[str],
    as_dictionary: list[str],
    test_rows: int,
    expected_ids: ExpectedIds | None,
) -> pa.Table:
    """Decode in batches after checking the footer; stop once past the decoded limit.

    Runs of row groups are decoded at once (``bounds.row_group_parts``), each in batches
    sized by its own dictionaries and checked against the limit after every batch. An id
    column proven to be ``expected_ids`` in order is not decoded: the solution's array
    stands for it, counted as the bytes its decoding would have taken."""
    metadata = parquet.metadata
    bounds.refuse_row_groups(metadata.num_row_groups)  # before a look at each group
    groups = [metadata.row_group(i) for i in range(metadata.num_row_groups)]
    bounds.refuse_rows(max(metadata.num_rows, sum(g.num_rows for g in groups)), test_rows)
    limit = bounds.decoded_limit(test_rows, len(columns))
    bounds.check_parquet_metadata(metadata, columns, limit)
    if metadata.num_rows == 0:
        return parquet.read(columns=columns)
    # Nested columns (lists, structs) are refused by their type alone: not decoded.
    schema = parquet.schema_arrow
    flat = [name for name in columns if not pa.types.is_nested(schema.field(name).type)]
    ids = _id_proof(buf, metadata, schema, expected_ids)
    labels = _label_pages(buf, metadata, schema, as_dictionary)
    start = pa.total_allocated_bytes()

    def decode(part: list[int], names: list[str], allowance: int) -> list[pa.RecordBatch]:
        expanded = [name for name in names if name not in as_dictionary]
        batch_rows = bounds.parquet_batch_rows(buf, metadata, expanded, part)
        reader = pq.ParquetFile(
            pa.BufferReader(buf), metadata=metadata, read_dictionary=as_dictionary
        )
        batches = []
        for batch in reader.iter_batches(batch_size=batch_rows, row_groups=part, columns=names):
            batches.append(batch)
            bounds.refuse_decoded(pa.total_allocated_bytes() - start - allowance, limit)
        return batches

    parts = bounds.row_group_parts(metadata, 2 * threads())

    def decodes(names: list[str], allowance: int = 0) -> list[Callable[[], list]]:
        return [partial(decode, part, names, allowance) for part in parts]

    def joined(done: list[list[pa.RecordBatch]], names: list[str]) -> dict:
        return _columns(_joined(done, parquet, names))

    pages = _Pages(ids, labels, expected_ids)
    found = pages.read(flat, decodes, joined, elements=metadata.num_rows * len(flat))
    group_rows = sum(g.num_rows for g in groups)
    if (ids or labels) and any(len(column) != group_rows for column in found.values()):
        # A column short of its row groups' rows, which Arrow decodes without a word when
        # a page is damaged: the columns decoded again together, as Arrow alone decodes
        # them, so the table (or the refusal) is the one it would be without the pages
        found = {}  # (the columns read apart go before they are read again)
        pages = _Pages(None, None, None)
        found = joined(run_all(decodes(flat)), flat)
    table = pa.table(found)
    bounds.refuse_expanded(table, pa.total_allocated_bytes() - start + pages.counted, limit)
    _refuse_undecodable(table, trusted=pages.trusted)
    rows = table.num_rows if table.num_columns else metadata.num_rows
    return pa.table(
        {
            name: table[name]
            if name in table.column_names
            else pa.nulls(rows, schema.field(name).type)
            for name in columns
        }
    )


class _Pages:
    """The columns read from their pages instead of decoded by Arrow: the ids proven to be
    the solution's in order (``ids``, ``idpages``) and the labels decoded into one byte a
    row (``labels``, ``labelpages``), either None when the file's pages are not read."""

    def __init__(
        self,
        ids: idpages.Proof | None,
        labels: labelpages.Decoding | None,
        expected: ExpectedIds | None,
    ) -> None:
        self.ids, self.labels, self.expected = ids, labels, expected
        self.counted = 0  # the bytes of the columns given, as Arrow's decoding takes them
        self.trusted: list[str] = []  # the solution's own ids, when proven

    def read(
        self,
        flat: list[str],
        decodes: Callable[..., list[Callable[[], list]]],
        joined: Callable[[list, list[str]], dict[str, pa.ChunkedArray]],
        *,
        elements: int,
    ) -> dict[str, pa.ChunkedArray]:
        """The ``flat`` columns: what the pages give, the others decoded by Arrow meanwhile
        (``decodes``: the calls of a decoding, ``joined``: its columns; on both threads,
        all together), and what the pages did not give decoded by Arrow after."""
        from_pages = ["id"] * bool(self.ids) + ["label"] * bool(self.labels)
        rest = [name for name in flat if name not in from_pages]
        id_calls = [] if self.ids is None else self.ids.calls
        label_calls = [] if self.labels is None else self.labels.calls
        # While the ids are proven, the proof holds a few pages of its own (``live_bytes``):
        # allowed for in the checks after each batch, never in the last one
        allowance = 0 if self.ids is None else self.ids.live_bytes
        calls = decodes(rest, allowance) if rest else []
        done = run_all(calls + id_calls + label_calls, elements=elements)
        found = joined(done[: len(calls)], rest) if rest else {}
        results = done[len(calls) :]
        proofs, labels = results[: len(id_calls)], results[len(id_calls) :]
        if self.ids is not None and all(proofs):
            found["id"] = pa.chunked_array([self.expected.ids])
            self.counted += self.expected.decoded_bytes  # its text and offsets
            self.trusted.append("id")
        given = None if self.labels is None else self.labels.column(labels)
        if given is not None:
            found["label"] = given
            self.counted += 4 * len(given)  # Arrow's int32 indices (here one byte)
        missing = [name for name in from_pages if name not in found]
        if missing:
            found.update(joined(run_all(decodes(missing)), missing))
        return found


def _columns(table: pa.Table) -> dict[str, pa.ChunkedArray]:
    return {name: table[name] for name in table.column_names}


def _joined(
    decoded: list[list[pa.RecordBatch]], parquet: pq.ParquetFile, names: list[str]
) -> pa.Table:
    batches = [batch for part in decoded for batch in part]
    return pa.Table.from_batches(batches) if batches else parquet.read(columns=names)


def _id_proof(
    buf: pa.Buffer, metadata: pq.FileMetaData, schema: pa.Schema, expected: ExpectedIds | None
) -> idpages.Proof | None:
    """The proof that the file's id column, text as Arrow would read it, holds the ids of
    ``expected`` in order (``idpages``), when its pages are ones it reads; else None (the
    column is decoded)."""
    if expected is None or "id" not in schema.names:
        return None
    type_ = schema.field("id").type
    if not (pa.types.is_string(type_) or pa.types.is_large_string(type_)):
        return None
    return idpages.proof(buf, metadata, expected)


def _label_pages(
    buf: pa.Buffer, metadata: pq.FileMetaData, schema: pa.Schema, as_dictionary: list[str]
) -> labelpages.Decoding | None:
    """The decoding of the file's label column from its pages (``labelpages``) when it
    is read as a dictionary of text; else None (Arrow decodes it)."""
    if "label" not in as_dictionary:
        return None
    type_ = schema.field("label").type  # as Arrow reads it: a dictionary of text
    if pa.types.is_dictionary(type_):
        type_ = type_.value_type
    if not pa.types.is_string(type_):
        return None
    return labelpages.decoding(buf, metadata, "label")


def _read_csv(buf: pa.Buffer, test_rows: int | None) -> pa.Table:
    names = _csv_header(buf)
    if test_rows is not None:
        bounds.refuse_rows(bounds.csv_lines(buf) - 1, test_rows, what="lines after the header")
    if not _has_keys(names):
        return pa.schema([(name, pa.string()) for name in names]).empty_table()
    wanted = [name for name in names if is_value_column(name)]
    types = {name: pa.string() if name in _TEXT else pa.float64() for name in wanted}
    convert = pacsv.ConvertOptions(
        column_types=types, include_columns=wanted, strings_can_be_null=False
    )
    try:
        return _parse_csv(buf, names, convert, use_threads=True)
    except pa.ArrowInvalid:
        pass
    try:  # Again on one thread, which makes Arrow report line numbers.
        return _parse_csv(buf, names, convert, use_threads=False)
    except pa.ArrowInvalid as exc:
        raise _csv_problem(str(exc), buf, names) from None


def _parse_csv(
    buf: pa.Buffer, names: list[str], convert: pacsv.ConvertOptions, *, use_threads: bool
) -> pa.Table:
    read = pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=use_threads)
    return pacsv.read_csv(pa.BufferReader(buf), read_options=read, convert_options=convert)


def _csv_header(buf: pa.Buffer) -> list[str]:
    first = buf.slice(0, min(buf.size, _HEADER_SCAN)).to_pybytes().removeprefix(_UTF8_BOM)
    end = min((i for i in (first.find(b"\n"), first.find(b"\r")) if i >= 0), default=-1)
    if end < 0 and buf.size > _HEADER_SCAN:
        raise SubmissionInvalid("The first line of the file is longer than 1 MiB.")
    line = first if end < 0 else first[:end]
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise _not_utf8(buf) from None
    if not text.strip():
        raise SubmissionInvalid("The first line is empty; it must name the columns (id,label,...).")
    try:
        names = next(csv.reader([text], strict=True))
    except csv.Error as exc:
        raise SubmissionInvalid(f"The first line cannot be read as column names ({exc}).") from None
    if len(names) == 1 and (";" in text or "\t" in text):
        sep = "semicolons" if ";" in text else "tabs"
        raise SubmissionInvalid(f"The columns are separated by {sep}; use commas.")
    _check_names(names)
    return names


_RAGGED = re.compile(r"Row #(\d+): Expected (\d+) columns, got (\d+): (.*)", re.S)
_NOT_NUMBER = re.compile(
    r"column #(\d+): Row #(\d+): CSV conversion error to double: invalid value '(.*)'", re.S
)


def _csv_problem(message: str, buf: pa.Buffer, names: list[str]) -> SubmissionInvalid:
    if "invalid UTF8" in message:
        return _not_utf8(buf)
    if m := _RAGGED.search(message):
        line, want, got, text = int(m[1]), int(m[2]), int(m[3]), m[4]
        quote = ' A quote (") may be left open.' if '"' in text else ""
        return SubmissionInvalid(
            f"Line {line:,} has {count(got, 'value')} but the header has "
            f"{count(want, 'column')}: {show(text)}.{quote}"
        )
    if "straddling object" in message:
        return SubmissionInvalid(
            "A row of the file is too long to read (more than a megabyte), "
            'or a quote (") is left open.'
        )
    if m := _NOT_NUMBER.search(message):
        column, line, value = names[int(m[1])], int(m[2]), m[3]
        return SubmissionInvalid(
            f"Column {show(column)} must hold numbers, but line {line:,} holds {show(value)}."
        )
    return SubmissionInvalid(f"The file cannot be read as CSV: {message}")


def _not_utf8(buf: pa.Buffer) -> SubmissionInvalid:
    data = buf.to_pybytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return SubmissionInvalid(
            f"The file is not UTF-8 text: line {line:,} has the byte 0x{data[exc.start]:02x} "
            f"(byte offset {exc.start:,}). Save it as UTF-8."
        )
    return SubmissionInvalid("The file is not UTF-8 text. Save it as UTF-8.")
