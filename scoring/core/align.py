"""Check a parsed submission against the solution and put it in the solution's row order.

Fast path: ids equal to the solution's, in its order (one vectorized comparison).
Otherwise a shuffled file is placed as a whole, checked complete and exact, by the ids'
integers (a numbered or counted solution, whose shape the import stored with it; integer
ids of a task numbered "0", "1"... as they were read) or by their keys (any other shape):
``idindex``. Anything else is located id by id (``idindex.locate``: from the integer in
ids shaped like the solution's, confirmed by one vectorized equality; else one hash
probe), which finds every duplicate, missing and unknown id at once. The task's kind
(``kinds``) names the column its predictions are in (``label``; grouping: ``cluster``) and
reads the values (its optional columns too: ``proba_<class>``, ``score``); other columns
are ignored.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from common.arrowtools import as_string, is_text, null_mask, same_memory
from common.numbered import Counted, Spread
from common.parallel import run_all
from common.refusals import MAX_EXAMPLES, SubmissionInvalid, count, examples, has
from kinds.base import Values
from kinds.columns import Probabilities
from scoring.core.idindex import (
    locate,
    permutation_by_keys,
    permutation_of_numbered,
    prepare_keys,
    solution_shape,
)
from scoring.core.solution import Solution

_PEEK = 1024  # ids compared before comparing them all: a shuffled file differs at once


class Aligned:
    """Predictions in the solution's row order (class codes, cluster codes, numbers... as
    the kind reads them) and match scores, plus class probabilities as the file gave them
    (``probabilities``: in the file's order, where Arrow decoded them, with each row's
    solution row). ``proba`` is the (n, k) probability matrix in the solution's order,
    made on first use (nothing in scoring asks for it: its sums read ``probabilities`` as
    they are)."""

    __slots__ = ("pred", "probabilities", "score")

    def __init__(
        self,
        pred: np.ndarray,
        proba: np.ndarray | None = None,
        score: np.ndarray | None = None,
        *,
        probabilities: Probabilities | None = None,
    ) -> None:
        if proba is not None:
            if probabilities is not None:
                raise ValueError("give the probabilities in the solution's order or as read")
            probabilities = Probabilities(np.asarray(proba).T)
        self.pred = pred
        self.score = score
        self.probabilities = probabilities

    @property
    def proba(self) -> np.ndarray | None:
        return None if self.probabilities is None else self.probabilities.in_truth_order()


def prepare_alignment(solution: Solution) -> Solution:
    """``solution``, with what placing a shuffled file will need of it made now (the table
    of its ids' keys when its ids have no numbered shape, read from the file the import
    stored beside the solution when there is one), as the alignment would make it."""
    if solution.id_shape_known:
        prepare_keys(solution.ids, solution.id_shape, stored=solution.keys_path)
    return solution


def align_submission(table: pa.Table, solution: Solution) -> Aligned:
    """Validate ``table`` completely; raise SubmissionInvalid with the first problem found."""
    kind = solution.task_kind
    _require_columns(table, ("id", kind.prediction_column))
    raw = _checked_ids(table["id"])
    text: list[pa.ChunkedArray] = []

    def ids() -> pa.ChunkedArray:  # as text: made only when needed (integer ids may not)
        if not text:
            text.append(as_string(raw))
        return text[0]

    def example_ids(rows: np.ndarray) -> str:
        shown = ids().take(np.flatnonzero(rows)[:MAX_EXAMPLES]).to_pylist()
        return f"{'id' if len(shown) == 1 else 'ids'} {examples(shown)}"

    def values() -> Values:
        return kind.read_values(table, classes=list(solution.classes), example_ids=example_ids)

    # The ids are placed while the values are read (two threads when large): a problem
    # with the ids is the one reported when both have one, as when one came after the other.
    positions, (pred, proba, score) = run_all(
        [lambda: _solution_rows(raw, ids, solution), values], elements=len(raw)
    )
    if positions is None:
        as_read = None if proba is None else Probabilities(proba)
        return Aligned(pred=pred, score=score, probabilities=as_read)
    # The probabilities stay as read, where Arrow holds them, with each row's solution row;
    # the truth that sums over them read is brought to their order here.
    placed_pred, placed_score, followed = run_all(
        [
            lambda: _scatter(pred, positions),
            lambda: None if score is None else _scatter(score, positions),
            lambda: [] if proba is None else _truth_in_file_order(solution, positions),
        ],
        elements=len(positions),
    )
    probabilities = None
    if proba is not None:
        probabilities = Probabilities(proba, positions, followed=followed)
    return Aligned(pred=placed_pred, score=placed_score, probabilities=probabilities)


def _truth_in_file_order(
    solution: Solution, positions: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``y`` and ``is_public`` at ``positions``, each with its gather: one random read a
    row of both packed (``Solution.y_and_split``), unpacked in order (the same codes, in
    a narrower type)."""
    packed = solution.y_and_split
    if packed is None:
        return [(values, values[positions]) for values in (solution.y, solution.is_public)]
    both = packed[positions]
    split = np.bitwise_and(both, 1)
    return [
        (solution.y, np.right_shift(both, 1, out=both)),
        (solution.is_public, split.view(bool) if split.itemsize == 1 else split.astype(bool)),
    ]


def _scatter(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``values`` (submission order) in solution order: row i goes to ``positions[i]``."""
    out = np.empty_like(values)
    out[positions] = values
    return out


def _require_columns(table: pa.Table, required: tuple[str, str]) -> None:
    names = table.column_names
    missing = [key for key in required if key not in names]
    if not missing:
        return
    hint = ""
    if any(name.strip() in missing for name in names):
        hint = " Column names must not have spaces around them."
    elif any(name.lower() in missing for name in names):
        hint = " Column names are case-sensitive."
    elif len(missing) == 2 and len(names) == 2:
        hint = " The first line must be a header naming the columns."
    raise SubmissionInvalid(
        f"The file must have the columns {required[0]!r} and {required[1]!r}; "
        f"{examples(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} missing. "
        f"Found {count(len(names), 'column')}: {examples(names, limit=10)}.{hint}"
    )


def _checked_ids(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The id column as read, refused unless text or integers without a missing value."""
    if not (is_text(column.type) or pa.types.is_integer(column.type)):
        raise SubmissionInvalid(f"Column 'id' has type {column.type}; expected text (or integers).")
    if column.null_count:
        rows = np.flatnonzero(null_mask(column))[:MAX_EXAMPLES] + 1
        raise SubmissionInvalid(
            f"{has(column.null_count, 'row')} no id, e.g. "
            f"{'row' if rows.size == 1 else 'rows'} {examples(rows.tolist())}."
        )
    return column


def _solution_rows(
    raw: pa.ChunkedArray, text: Callable[[], pa.ChunkedArray], solution: Solution
) -> np.ndarray | None:
    """None when the ids are the solution's ids in order; else each id's solution row.
    ``raw`` is the id column as read (text or integers), ``text()`` the same as text."""
    if _is_own(raw, solution.ids):  # the reader proved the file's ids are these (idpages)
        return None
    n = len(solution.ids)
    shape = solution.id_shape if solution.id_shape_known else solution_shape(solution.ids)
    if pa.types.is_integer(raw.type) and isinstance(shape, Counted | Spread) and not shape.prefix:
        # Integer ids of a task whose ids are "0", "1"... (in any order for a Spread one):
        # placed by their values as read.
        if isinstance(shape, Counted) and len(raw) == n and _counting_up(raw, shape.low):
            return None
        pos = permutation_of_numbered(raw, solution.ids, shape=shape)
        if pos is not None:
            return pos
    ids = text()
    peek = slice(0, _PEEK)
    if len(ids) == n and _same(ids[peek], solution.ids[peek]) and _same(ids, solution.ids):
        return None
    # Checked complete, each a permutation: nothing to report. Ids of no numbered shape
    # by their keys first (the guess of a numbered order costs 0.025 s at 3M UUIDs that
    # end in digits, and fails), the guess then (tasks too small for keys).
    pos = None
    if shape is None:
        pos = permutation_by_keys(ids, solution.ids, stored=solution.keys_path)
    if pos is None:
        pos = permutation_of_numbered(ids, solution.ids, shape=shape)
    if pos is not None:
        return pos
    pos = locate(ids, solution.ids)
    known = pos >= 0
    times = np.bincount(pos[known], minlength=n)
    unknown = np.flatnonzero(~known)
    if unknown.size or (times != 1).any():
        raise SubmissionInvalid(_id_problems(ids, solution, unknown, times))
    return pos


def _is_own(column: pa.ChunkedArray, ids: pa.Array) -> bool:
    """Whether ``column`` is ``ids`` itself: one chunk over the same memory."""
    return column.num_chunks == 1 and same_memory(column.chunk(0), ids)


def _counting_up(values: pa.ChunkedArray, low: int) -> bool:
    numbers = np.concatenate([chunk.to_numpy() for chunk in values.chunks], dtype=np.int64)
    return bool(np.array_equal(numbers, np.arange(low, low + numbers.size, dtype=np.int64)))


def _same(ids: pa.ChunkedArray, solution_ids: pa.Array) -> bool:
    return bool(pc.all(pc.equal(ids, solution_ids)).as_py())


def _id_problems(
    ids: pa.ChunkedArray, solution: Solution, unknown: np.ndarray, times: np.ndarray
) -> str:
    unknown.sort()
    repeated, missing = np.flatnonzero(times > 1), np.flatnonzero(times == 0)
    lines = ["The ids do not match the test set:"]
    if repeated.size:
        lines.append(
            f"- {count(repeated.size, 'id')} "
            f"{'appears' if repeated.size == 1 else 'appear'} more than once "
            f"({count(int(times[repeated].sum()), 'row')}), e.g. "
            f"{_ids_at(solution.ids, repeated)}."
        )
    if missing.size:
        lines.append(
            f"- {count(missing.size, 'test id')} {'is' if missing.size == 1 else 'are'} "
            f"missing, e.g. {_ids_at(solution.ids, missing)}."
        )
    if unknown.size:
        unknown_ids = ids.take(unknown)
        empty = int(pc.sum(pc.equal(unknown_ids, "")).as_py() or 0)
        if empty:
            lines.append(f"- {has(empty, 'row')} an empty id.")
        if unknown.size > empty:
            shown = unknown_ids.filter(pc.not_equal(unknown_ids, ""))
            lines.append(
                f"- {has(unknown.size - empty, 'row')} an id that is not in the test set, "
                f"e.g. {examples(shown.slice(0, MAX_EXAMPLES).to_pylist())}."
            )
    if missing.size == len(solution.ids):
        lines.append(
            "No id matches: check that the 'id' column holds the test file's ids unchanged "
            f"(test ids look like {_ids_at(solution.ids, np.arange(min(3, len(missing))))})."
        )
    return "\n".join(lines)


def _ids_at(ids: pa.Array, positions: np.ndarray) -> str:
    return examples(ids.take(positions[:MAX_EXAMPLES]).to_pylist())
