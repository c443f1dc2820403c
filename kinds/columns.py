"""Number columns read in place: numpy views of Arrow's buffers, checked there, never copied whole.

A submission's probability columns are checked where Arrow decoded them and stay there:
scoring keeps them in the file's order (``Probabilities``), with the solution row of each
of its rows when the ids came shuffled. The sums over rows (the log loss, OPIS) copy a
cache-sized block of the k columns at a time into a small buffer they reuse
(``FloatColumns.block``), the stored predictions are written from the columns as they are,
and the solution's order, or one (k, n) matrix, is made only when something asks for it.
A matrix of every column, made per scoring, costs a fresh allocation of n x k floats whose
page faults alone took longer than the sums read from it.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from common.parallel import map_rows

_MIN_BATCH_ROWS = 1024  # batches this small on average are joined first
_MAX_BATCHES = 64
_BLOCK_VALUES = 1 << 17  # values per block of ``pick``: the block stays in the CPU's cache


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
    same rows): ``batches[b][j]`` is column j's values in batch b. ``backing``: the (k, n)
    array whose rows the columns are, when they came as one (``of_matrix``)."""

    batches: tuple[tuple[np.ndarray, ...], ...]
    rows: int
    width: int
    backing: np.ndarray | None = None

    @classmethod
    def of_matrix(cls, by_class: np.ndarray) -> FloatColumns:
        """The rows of a (k, n) array as k columns (views: nothing is copied)."""
        if by_class.ndim != 2:
            raise ValueError(f"a (k, n) array is needed, not {by_class.shape}")
        k, n = by_class.shape
        return cls(batches=(tuple(by_class),), rows=n, width=k, backing=by_class)

    @functools.cached_property
    def starts(self) -> list[int]:
        """The first row of each batch, then ``rows``."""
        starts = [0]
        for columns in self.batches:
            starts.append(starts[-1] + (len(columns[0]) if columns else 0))
        return starts

    def block(self, rows: slice, out: np.ndarray) -> np.ndarray:
        """Rows ``rows`` (a step-1 slice) of the k columns as a (k, m) array: a view of the
        backing array when there is one, else copied into the start of ``out`` (a flat
        float64 buffer of at least k x m values) batch piece by batch piece."""
        start, stop = rows.start, rows.stop
        if self.backing is not None:
            return self.backing[:, start:stop]
        m = stop - start
        block = out[: self.width * m].reshape(self.width, m)
        b = bisect.bisect_right(self.starts, start) - 1
        at = start
        while at < stop:
            first, last = self.starts[b], self.starts[b + 1]
            piece = slice(at - first, min(stop, last) - first)
            for j, values in enumerate(self.batches[b]):
                block[j, at - start : at - start + piece.stop - piece.start] = values[piece]
            at = min(stop, last)
            b += 1
        return block

    def pieces(self, j: int) -> Iterator[tuple[int, np.ndarray]]:
        """Column j's values a batch at a time, each with its first row."""
        for start, columns in zip(self.starts, self.batches, strict=False):
            yield start, columns[j]

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
                for start, values in self.pieces(j):
                    out[j, start : start + len(values)] = values

        map_rows(write, self.width, per_row=self.rows)
        return out

    def pick(self, codes: np.ndarray) -> np.ndarray:
        """``column[codes[i]][i]`` for every row i (a new array): one ``take`` per
        cache-sized block of the k columns, the blocks shared between the threads."""
        if self.backing is not None:
            return _pick(self.backing.T, codes)
        out = np.empty(self.rows, dtype=np.float64)
        step = max(1, _BLOCK_VALUES // max(1, self.width))

        def fill(part: slice) -> None:
            buffer = np.empty(self.width * min(step, part.stop - part.start), dtype=np.float64)
            for start in range(part.start, part.stop, step):
                rows = slice(start, min(start + step, part.stop))
                block = self.block(rows, buffer)
                m = rows.stop - rows.start
                flat = codes[rows].astype(np.intp) * m  # the block: contiguous, class-major
                flat += np.arange(m)
                np.take(block.reshape(-1), flat, out=out[rows])

        map_rows(fill, self.rows, per_row=self.width, align=step)
        return out


def _pick(proba: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``proba[i, codes[i]]`` per row (a new array), as one ``take`` from the matrix's
    memory when it is contiguous (class-major or row-major): about half the time of the
    two-array fancy index."""
    n, k = proba.shape
    rows = np.arange(n)
    if proba.flags.f_contiguous:
        return np.take(proba.T.ravel(), codes.astype(np.intp) * n + rows)
    if proba.flags.c_contiguous:
        return np.take(proba.ravel(), rows * k + codes)
    return proba[rows, codes]


class Probabilities:
    """Class probabilities as the file gave them: ``columns`` (k columns of n rows, class j
    in column j, in the file's row order, held where Arrow decoded them), and ``order``,
    the truth row of each of its rows (None: the truth's order).

    What sums over the rows (log loss, OPIS) reads them as they are, a block at a time,
    with the truth brought to their order (``truth_rows``: a gather of a small array, kept
    for the next caller); the (k, n) matrix (``by_class``) and the (n, k) matrix in the
    truth's order (``in_truth_order``) are made only when something asks for them, once.
    Moving k float columns into the truth's order is a scatter that costs more than every
    sum over them.
    """

    __slots__ = ("_followed", "_matrix", "_placed", "columns", "order")

    def __init__(
        self,
        by_class: np.ndarray | FloatColumns,
        order: np.ndarray | None = None,
        *,
        followed: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    ) -> None:
        """``by_class``: the columns, or a (k, n) array of them; ``followed``: truth arrays
        already brought to this order, each with its gather (made where a thread was
        free; the same values, maybe in a narrower integer type)."""
        if isinstance(by_class, np.ndarray):
            if by_class.ndim != 2:
                raise ValueError(f"probabilities {by_class.shape}: a (k, n) array is needed")
            by_class = FloatColumns.of_matrix(by_class)
        if order is not None and order.shape != (by_class.rows,):
            raise ValueError(
                f"probabilities {(by_class.width, by_class.rows)} and an order of {order.shape}"
            )
        self.columns = by_class
        self.order = order
        self._matrix: np.ndarray | None = by_class.backing
        self._placed: np.ndarray | None = None
        self._followed = {id(values): (values, rows) for values, rows in followed}

    @property
    def by_class(self) -> np.ndarray:
        """The (k, n) matrix in the file's order, made on first use."""
        if self._matrix is None:
            self._matrix = self.columns.matrix()
        return self._matrix

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
            columns, order = self.columns, self.order
            placed = np.empty((columns.width, columns.rows), dtype=np.float64)

            def write(part: slice) -> None:
                for j in range(part.start, part.stop):
                    for start, values in columns.pieces(j):
                        placed[j][order[start : start + len(values)]] = values

            map_rows(write, columns.width, per_row=columns.rows)
            self._placed = placed
        return self._placed.T
