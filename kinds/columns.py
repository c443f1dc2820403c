"""Number columns read in place: numpy views of Arrow's buffers, copied once, into place.

A submission's probability columns are checked where Arrow decoded them and then written
once into the array scoring keeps: in the file's order, or straight into the solution's
row order when the ids came shuffled (no intermediate copy in the file's order).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from common.parallel import map_rows

_MIN_BATCH_ROWS = 1024  # batches this small on average are joined first
_MAX_BATCHES = 64


def float_chunks(column: pa.ChunkedArray) -> list[np.ndarray]:
    """The column's values as float64 (null: NaN), a numpy array per chunk: a view of
    Arrow's buffer where the chunk is float64 without nulls, else a converted copy. The
    caller checks the column's type first."""
    return [_floats(chunk) for chunk in column.chunks]


def _floats(array: pa.Array) -> np.ndarray:
    if array.type != pa.float64() or array.null_count:
        array = array.cast(pa.float64())
    return array.to_numpy(zero_copy_only=False)


@dataclass(frozen=True, eq=False)
class FloatColumns:
    """k float64 columns of n rows, held per record batch (the columns' chunks cut at the
    same rows): ``batches[b][j]`` is column j's values in batch b."""

    batches: tuple[tuple[np.ndarray, ...], ...]
    rows: int
    width: int

    @classmethod
    def of(cls, table: pa.Table, names: list[str]) -> FloatColumns:
        """``names``' columns of ``table`` (numbers: checked by the caller), zero-copy
        where Arrow holds float64 without nulls."""
        chosen = table.select(names)
        batches = chosen.to_batches()  # every column cut at the same rows
        if len(batches) > _MAX_BATCHES + chosen.num_rows // _MIN_BATCH_ROWS:
            # Tiny batches (a file of one-row row groups): one copy, not a Python step each.
            batches = chosen.combine_chunks().to_batches()
        return cls(
            batches=tuple(tuple(_floats(values) for values in batch.columns) for batch in batches),
            rows=table.num_rows,
            width=len(names),
        )

    def blocks(self, rows: int) -> Iterator[tuple[np.ndarray, ...]]:
        """The k columns' values a block of at most ``rows`` rows at a time."""
        for columns in self.batches:
            size = len(columns[0]) if columns else 0
            for start in range(0, size, rows):
                yield tuple(values[start : start + rows] for values in columns)

    def matrix(self, positions: np.ndarray | None = None) -> np.ndarray:
        """A new (k, n) array, column j in row j: in the file's order, or file row i at
        ``positions[i]`` (a permutation of the rows). A large matrix's columns are
        written on two threads."""
        out = np.empty((self.width, self.rows), dtype=np.float64)

        def write(part: slice) -> None:
            for j in range(part.start, part.stop):
                start, row = 0, out[j]
                for columns in self.batches:
                    values = columns[j]
                    stop = start + len(values)
                    if positions is None:
                        row[start:stop] = values
                    else:
                        row[positions[start:stop]] = values
                    start = stop

        map_rows(write, self.width, per_row=self.rows)
        return out
