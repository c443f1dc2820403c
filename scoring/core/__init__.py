"""The scoring core: read, validate, align and score a submission. No Django here.

Usage::

    solution = load_solution("private/solution.parquet", kind="classification",
                             classes=["a", "b"])
    result = score_file(uploaded_file, solution)   # raises SubmissionInvalid
    result.metrics["public"]["accuracy"]
    result.scores()                                # every split, non-finite values as None

What depends on the task's kind (its columns, values, metrics) is its module's in
``kinds``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from common.finite import float_or_none
from common.parallel import run_all
from common.refusals import SubmissionInvalid
from common.splits import SPLITS
from scoring.core.align import Aligned, align_submission, prepare_alignment
from scoring.core.metrics import compute_metrics, evaluate, metric_names, primary_metric
from scoring.core.opis import UtilityCurves
from scoring.core.predictions import load_predictions, save_predictions
from scoring.core.reader import Source, SubmissionFile, read_submission, read_submission_file
from scoring.core.solution import Solution, load_solution, solution_from_table

__all__ = [
    "Aligned",
    "ScoreResult",
    "Scores",
    "Solution",
    "SubmissionInvalid",
    "align_submission",
    "compute_metrics",
    "load_predictions",
    "load_solution",
    "metric_names",
    "primary_metric",
    "read_submission",
    "save_predictions",
    "score_file",
    "score_file_loading",
    "solution_from_table",
]

Scores = dict[str, dict[str, float | None]]
"""``{"all"|"public"|"private": {metric: value or None}}``: what is stored and printed."""


@dataclass(frozen=True, eq=False)
class ScoreResult:
    """Metrics per split, the aligned predictions, the file's row count and format, and the
    OPIS utility curves per split behind the ``opis`` metric (None where OPIS does not
    apply)."""

    metrics: dict[str, dict[str, float]]
    aligned: Aligned
    row_count: int
    format: str
    curves: dict[str, UtilityCurves] | None = None

    def scores(self) -> Scores:
        """Every split's metrics, non-finite values as None (the one per-split form that
        submissions, references and ``score_file`` store or print)."""
        return {
            split: {name: float_or_none(v) for name, v in self.metrics.get(split, {}).items()}
            for split in SPLITS
        }


def score_file(source: Source, solution: Solution, *, max_bytes: int | None = None) -> ScoreResult:
    """Read, validate and score one submission; raise SubmissionInvalid if unusable."""
    parsed = read_submission_file(source, max_bytes=max_bytes, test_rows=len(solution.ids))
    return _scored(parsed, solution)


def score_file_loading(
    source: str | os.PathLike,
    solution: Callable[[], Solution],
    *,
    test_rows: int,
    max_bytes: int | None = None,
) -> tuple[ScoreResult, Solution]:
    """``score_file`` on a cold start: the file is read while ``solution()`` loads and
    makes what the alignment will need of it, on the other core (both are mostly Arrow's
    and numpy's work, outside the interpreter's lock); the loaded solution is returned
    with the result. ``source`` is a path (it may be read twice).

    ``test_rows`` is the task's recorded count of test rows, the read's memory bound; were
    the loaded solution to have another count, the file is read again with its own."""
    if test_rows <= 0:
        loaded = solution()
        return score_file(source, loaded, max_bytes=max_bytes), loaded

    def read() -> SubmissionFile | SubmissionInvalid:
        try:
            return read_submission_file(source, max_bytes=max_bytes, test_rows=test_rows)
        except SubmissionInvalid as refusal:  # its bound may be another count's
            return refusal

    # pyarrow imports pandas on its first conversion of Python values, which the kind's
    # truth makes (0.2 s of the interpreter's work, serial after the reads): made here, on a
    # thread of its own, while both files are read outside the interpreter's lock.
    pandas_import = threading.Thread(target=_pyarrow_imports_pandas, name="pyarrow-pandas")
    pandas_import.start()
    try:
        loaded, parsed = run_all([lambda: prepare_alignment(solution()), read])
    finally:
        pandas_import.join()
    if len(loaded.ids) != test_rows:
        return score_file(source, loaded, max_bytes=max_bytes), loaded
    if isinstance(parsed, SubmissionInvalid):
        raise parsed
    return _scored(parsed, loaded), loaded


def _pyarrow_imports_pandas() -> None:
    pa.array([0])  # pyarrow's pandas shim imports under its own lock: others wait for it


def _scored(parsed: SubmissionFile, solution: Solution) -> ScoreResult:
    aligned = align_submission(parsed.table, solution)
    metrics, curves = evaluate(aligned, solution)
    return ScoreResult(
        metrics=metrics,
        curves=curves,
        aligned=aligned,
        row_count=parsed.table.num_rows,
        format=parsed.format,
    )
