"""One standardized part (train or test) written batch by batch: each standardized batch is
appended to the Parquet file (one row group per batch) and to the CSV, and fed to the card,
each on a thread of its own (:class:`datasets.core.behind.Behind`), and the one rule that
turns a raw feature batch into its standard type (:func:`standard_column`,
docs/developers/data-contract.md). The import's one read (:mod:`datasets.core.stream`) and
the second read of the rare bundle (:mod:`datasets.core.standardize`) both write through it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from common.coerce import as_numbers, as_text
from datasets.core.behind import Behind
from datasets.core.card import CardBuilder
from datasets.core.images import normalize_path
from datasets.core.tables import BATCH_ROWS

if TYPE_CHECKING:
    pass

PARTS = ("train", "test")


def standard_column(raw: pa.Array, column_type: str, integral: bool) -> pa.Array:
    """One raw feature batch in its standard type: numbers as float64, every other type as
    text (floats without ``.0`` when ``integral``), image paths normalized."""
    if column_type == "numeric":
        return as_numbers(raw)[0]
    text = as_text(raw, integral=integral)
    if column_type != "image":
        return text
    encoded = pc.dictionary_encode(text)
    paths = pa.array([normalize_path(p) for p in encoded.dictionary.to_pylist()], pa.string())
    return paths.take(encoded.indices)


def part_paths(out_dir: Path, part: str) -> tuple[Path, Path]:
    """The CSV and Parquet files of ``part`` in a standardized task folder."""
    return out_dir / f"{part}.csv", out_dir / f"{part}.parquet"


class PartWriter:
    """``with PartWriter(...) as writer: writer.write(batch)``: one part's CSV and Parquet
    files and its card, batch by batch (module docstring); an empty part keeps the header
    and the schema."""

    def __init__(
        self, part: str, schema: pa.Schema, csv_path: Path, parquet_path: Path, card: CardBuilder
    ) -> None:
        self.part, self.schema, self.card = part, schema, card
        self.rows = 0
        self._csv = pacsv.CSVWriter(csv_path, schema)
        self._parquet_path = parquet_path
        self._parquet: pq.ParquetWriter | None = None  # opened with the first batch
        self._stages = [Behind("parquet"), Behind("csv"), Behind("card")]

    def write(self, batch: pa.RecordBatch) -> None:
        """Hand ``batch`` (standardized) to the three stages; returns while they work."""
        parquet, csv, card = self._stages
        parquet.run(self._parquet_write, batch)
        csv.run(self._csv.write_batch, batch)
        card.run(self._card_add, batch)
        self.rows += batch.num_rows

    def _parquet_write(self, batch: pa.RecordBatch) -> None:
        if self._parquet is None:
            self._parquet = self._open_parquet(batch)
        # Row groups of at most BATCH_ROWS whatever the bundle's batches (a CSV block can
        # hold millions of narrow rows): a run's /task links this file as it is.
        self._parquet.write_batch(batch, row_group_size=BATCH_ROWS)

    def _open_parquet(self, first: pa.RecordBatch | None) -> pq.ParquetWriter:
        """The Parquet writer, with a dictionary for every column but the text ones whose
        first batch is mostly distinct values (ids, titles): for those Parquet would fill
        a dictionary page and give it up again in every row group, a fifth of the writer's
        time at 10M rows for nothing."""
        names = self.schema.names
        if first is not None and first.num_rows:
            names = [
                name
                for name, column in zip(first.schema.names, first.columns, strict=True)
                if not pa.types.is_string(column.type)
                or 2 * pc.count_distinct(column).as_py() <= first.num_rows
            ]
        return pq.ParquetWriter(self._parquet_path, self.schema, use_dictionary=names)

    def _card_add(self, batch: pa.RecordBatch) -> None:
        self.card.add(self.part, batch)

    def close(self) -> None:
        """Wait for the last batch, then close both files (an error surfaces here)."""
        try:
            for stage in self._stages:
                stage.wait()
            if self.rows == 0:  # no rows: keep the header and the schema
                empty = self.schema.empty_table()
                self._csv.write_table(empty)
                self._parquet = self._open_parquet(None)
                self._parquet.write_table(empty)
        except BaseException:
            self._shutdown()
            raise
        for stage in self._stages:
            stage.shutdown()
        try:
            self._csv.close()
        finally:
            if self._parquet is not None:
                self._parquet.close()

    def _shutdown(self) -> None:
        for close in (
            *(stage.shutdown for stage in self._stages),
            self._csv.close,
            *(() if self._parquet is None else (self._parquet.close,)),
        ):
            with contextlib.suppress(Exception):  # the error on its way out is the one to see
                close()

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        else:
            self._shutdown()


