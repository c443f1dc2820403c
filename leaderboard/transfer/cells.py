"""A transfer matrix's cells (the matrix of :mod:`leaderboard.transfer.matrix`,
docs/architecture.md §12): how one cell is computed from a run's predictions and its task's
baseline entry's, and how it is kept in the cache.

A cell is kept under the names of its two prediction files (:func:`cell_key`), so a new run
or a new baseline is a new key; next to it, its summary (the score, the baseline's, the delta
and its interval, without the 1,000 row resamples), which is all the matrix reads
(:func:`measured_cells`: one ``cache.get_many`` for the whole matrix). The resamples are read
only by the decomposition when it is fitted (:func:`leaderboard.transfer.matrix.cell_resamples`,
docs/decisions/0027-the-transfer-matrix-decomposed-by-a-two-way-model.md). Cells computed
anew are computed task by task, so every algorithm's cell on a task shares that task's
solution and resample counts.
"""

from __future__ import annotations

import logging

import numpy as np
from django.core.cache import cache
from django.db.models.fields.files import FieldFile

from algorithms.models import AlgorithmRun
from datasets.models import Task
from leaderboard.core.transfer import TransferCell, transfer_cell
from leaderboard.models import LeaderboardEntry, Split
from scoring.core.predictions import load_pred
from scoring.solutions import solution_for_task

logger = logging.getLogger(__name__)

CACHE_SECONDS = 24 * 3600
SUMMARY = ":summary"  # the cell without its resamples (what the matrix shows)

# A cell the matrix wants: the run, its task and the task's baseline entry.
Wanted = tuple[AlgorithmRun, Task, LeaderboardEntry]
Summary = tuple[float, float, float, float, float, bool]


def _predictions(field: FieldFile) -> np.ndarray:
    """The stored codes as stored (a cell only compares them with the truth's)."""
    with field.open("rb") as handle:
        return load_pred(handle.read())


def cell_key(*, run: AlgorithmRun, task: Task, baseline: LeaderboardEntry, split: str) -> str:
    """The cache key of ``run``'s cell on ``task`` (its summary's: this + :data:`SUMMARY`)."""
    source = run.submission.predictions if run.submission_id else run.predictions
    # v3: cells keep their row resamples and say whether they are all the same (issue 38);
    # v4: above 2**14 rows they resample 4,096 random blocks (issue 43), and a task's cells
    # must all come from the same draws to be paired
    return f"transfer:v4:{split}:{task.pk}:{source.name}:{baseline.submission.predictions.name}"


def cell_summary(*, cell: TransferCell) -> Summary:
    """What the matrix shows of ``cell``: its figures, without its resamples."""
    return (cell.score, cell.baseline, cell.delta, cell.delta_low, cell.delta_high, cell.flat)


def cell_of_summary(*, summary: tuple) -> TransferCell:
    """The cell of a summary (:func:`cell_summary`), without its resamples."""
    score, base, delta, low, high, flat = summary
    return TransferCell(
        score=score, baseline=base, delta=delta, delta_low=low, delta_high=high, flat=flat
    )


def cell_compute(
    *, run: AlgorithmRun, task: Task, baseline: LeaderboardEntry, split: str
) -> TransferCell:
    key = cell_key(run=run, task=task, baseline=baseline, split=split)
    cached = cache.get(key)
    if cached is not None:
        return cached
    source = run.submission.predictions if run.submission_id else run.predictions
    solution = solution_for_task(task=task)
    public = np.asarray(solution.is_public, dtype=bool)
    cell = transfer_cell(
        y=np.asarray(solution.y),
        pred=_predictions(source),
        baseline_pred=_predictions(baseline.submission.predictions),
        kind=task.kind,
        metric=task.primary_metric or None,
        rows=public if split == Split.PUBLIC else ~public,
    )
    cache.set_many({key: cell, key + SUMMARY: cell_summary(cell=cell)}, CACHE_SECONDS)
    return cell


def measured_cells(*, wanted: list[Wanted], split: str) -> list[TransferCell | None]:
    """Each wanted cell without its resamples (None where it could not be computed): the
    summaries in one round trip, the others computed task by task."""
    keys = [cell_key(run=run, task=task, baseline=base, split=split) for run, task, base in wanted]
    found = cache.get_many([key + SUMMARY for key in keys]) if keys else {}
    out: list[TransferCell | None] = [None] * len(wanted)
    missing = []
    for i, key in enumerate(keys):
        summary = found.get(key + SUMMARY)
        if isinstance(summary, tuple) and len(summary) == 6:
            out[i] = cell_of_summary(summary=summary)
        else:
            missing.append(i)
    for i in sorted(missing, key=lambda i: wanted[i][1].pk):  # a task's cells together
        run, task, baseline = wanted[i]
        try:
            cell = cell_compute(run=run, task=task, baseline=baseline, split=split)
        except Exception:  # one unreadable file must not take the page down
            logger.exception("transfer cell %s x %s failed", run.version.algorithm_id, task.slug)
            continue
        out[i] = cell_of_summary(summary=cell_summary(cell=cell))
    return out
