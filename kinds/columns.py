"""Number columns read in place: numpy views of Arrow's buffers, checked there, copied once.

A submission's probability columns are checked where Arrow decoded them and then written
once, in the file's order, into the matrix scoring keeps (``Probabilities``), with the
solution row of each of its rows when the ids came shuffled: the sums over rows read it
as it is, and the solution's order is made only when something asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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

    def matrix(self) -> np.ndarray:
        """A new (k, n) array in the file's order, column j in row j (a large matrix's
        columns written on two threads)."""
        out = np.empty((self.width, self.rows), dtype=np.float64)

        def write(part: slice) -> None:
            for j in range(part.start, part.stop):
                start = 0
                for columns in self.batches:
                    stop = start + len(columns[j])
                    out[j, start:stop] = columns[j]
                    start = stop

        map_rows(write, self.width, per_row=self.rows)
        return out


class Probabilities:
    """Class probabilities as the file gave them: ``by_class`` (k, n), class j in row j,
    in the file's row order, and ``order``, the truth row of each of its rows (None: the
    truth's order).

    What sums over the rows (log loss, OPIS) reads them as they are, with the truth
    brought to their order (``truth_rows``: a gather of a small array, kept for the next
    caller); the (n, k) matrix in the truth's order is made only when something asks for
    it (``in_truth_order``), once. Moving k float columns into the truth's order is a
    scatter that costs more than every sum over them.
    """

    __slots__ = ("_followed", "_placed", "by_class", "order")

    def __init__(
        self,
        by_class: np.ndarray,
        order: np.ndarray | None = None,
        *,
        followed: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    ) -> None:
        """``followed``: truth arrays already brought to this order, each with its gather
        (made beside this matrix's copy, where a thread is free)."""
        if by_class.ndim != 2 or (order is not None and order.shape != (by_class.shape[1],)):
            shape = None if order is None else order.shape
            raise ValueError(f"probabilities {by_class.shape} and an order of {shape}")
        self.by_class = by_class
        self.order = order
        self._placed: np.ndarray | None = None
        self._followed = {id(values): (values, rows) for values, rows in followed}

    def truth_rows(self, values: np.ndarray) -> np.ndarray:
        """``values`` (one per truth row) in this matrix's row order."""
        if self.order is None:
            return values
        kept = self._followed.get(id(values))
        if kept is not None and kept[0] is values:
            return kept[1]
        followed = np.asarray(values)[self.order]
        self._followed[id(values)] = (values, followed)  # holds ``values``: its id stays its own
        return followed

    def placed(self, values: np.ndarray) -> np.ndarray:
        """``values`` (one per row of this matrix) in the truth's row order."""
        if self.order is None:
            return values
        out = np.empty_like(values)
        out[self.order] = values
        return out

    def in_truth_order(self) -> np.ndarray:
        """The (n, k) matrix in the truth's row order (class-major memory), made once."""
        if self.order is None:
            return self.by_class.T
        if self._placed is None:
            placed = np.empty(self.by_class.shape, dtype=self.by_class.dtype)
            order, by_class = self.order, self.by_class

            def write(part: slice) -> None:
                for j in range(part.start, part.stop):
                    placed[j][order] = by_class[j]

            map_rows(write, placed.shape[0], per_row=placed.shape[1])
            self._placed = placed
        return self._placed.T
