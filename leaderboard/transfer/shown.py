"""A transfer matrix as its reader is shown it (the matrix of :mod:`leaderboard.transfer.matrix`,
docs/architecture.md §12), for the page and the API alike: each cell as a
:class:`ShownCell` (the scored cell, else the run it speaks of and why it has no delta: a
failed run by its category, docs/decisions/0050-a-failed-runs-public-face-is-a-category.md),
each task's baseline state, the robustness view (docs/organizers/stress.md), and what the
matrix withholds from this reader in words (a ladder board's public split,
docs/organizers/ladder.md; a blind phase, docs/participants/phases.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from algorithms.failures import run_failure
from algorithms.models import ACTIVE, AlgorithmRun, AlgorithmRunStatus
from algorithms.stress_selectors import robustness_for_runs
from datasets.models import Task
from kinds import kind_get
from leaderboard.core.transfer import TransferCell
from leaderboard.transfer.baselines import BASELINE_NOT_RUN, BaselineState
from leaderboard.transfer.matrix import TransferMatrix, TransferRow


def withheld_view(*, hidden: frozenset[int], phases: frozenset[int] = frozenset()) -> str:
    """The part of a kept answer's key (``leaderboard.cache.transfer_cache.kept``) that says
    which tasks' cells (and blind phases' cells) it withholds: readers of different cells
    never share an answer."""
    view = "withheld:" + ",".join(str(pk) for pk in sorted(hidden))
    return view + (":phases:" + ",".join(str(pk) for pk in sorted(phases)) if phases else "")


def withheld_note(*, matrix: TransferMatrix) -> dict | None:
    """What the matrix withholds from its reader, in words: ``{"tasks", "reason"}`` (None:
    nothing)."""
    slugs = matrix.hidden_slugs
    if not slugs:
        if matrix.blind_withheld():
            return {"tasks": [], "reason": BLIND_NOTE}
        return None
    return {
        "tasks": slugs,
        "reason": (
            f"The tasks {', '.join(slugs)} have ladder boards: their cells of teams' methods "
            "on the public rows are exact public scores, which those boards hide until the "
            "private split is revealed. Their runs and statuses are shown; their scores, "
            "deltas and intervals are not, and the means, the decomposition and the frontier "
            "use only the cells shown (docs/organizers/ladder.md)."
        ),
    }


BLIND_NOTE = (
    "Cells of teams' methods run in a blind phase are withheld until the organizers reveal "
    "the results: their runs and statuses are shown; their scores, deltas and intervals are "
    "not, and the means, the decomposition and the frontier use only the cells shown "
    "(docs/participants/phases.md)."
)


def baseline_states(*, matrix: TransferMatrix) -> list[BaselineState]:
    """``matrix.baselines``, or "not run" for each task of a matrix made without them."""
    return matrix.baselines or [BaselineState(BASELINE_NOT_RUN)] * len(matrix.tasks)


@dataclass(frozen=True)
class ShownCell:
    """One cell as the page and the API show it: the scored cell (or None), the run it
    speaks of (the finished one, else the queued or running one; None: not run), why there
    is no delta (None when there is one) and the run's own score. A failed run shows its
    ``failure`` category (:mod:`algorithms.failures`), never its error or log."""

    cell: TransferCell | None
    run: AlgorithmRun | None
    reason: str | None
    score: float | None
    hidden: bool = False  # a scored cell withheld from this reader (:data:`LADDER_CELL`)

    @property
    def failure(self) -> str | None:
        return None if self.run is None else run_failure(run=self.run)


def cell_reason(*, run: AlgorithmRun, baseline: BaselineState) -> str:
    """Why a cell of ``run`` has no delta, in words."""
    if run.status in ACTIVE:
        return f"the run is {run.status}"
    if run.status == AlgorithmRunStatus.FAILED:
        return "the run failed"
    return baseline.reason or "no delta is computed for this task's metric"


def shown_cells(*, matrix: TransferMatrix, row: TransferRow) -> list[ShownCell]:
    """``row``'s cells in task order, as :class:`ShownCell`."""
    pending = row.pending or [None] * len(matrix.tasks)
    shown = []
    for task, cell, finished, waiting, baseline in zip(
        matrix.tasks, row.cells, row.runs, pending, baseline_states(matrix=matrix), strict=True
    ):
        run = finished or waiting
        if cell is not None:
            shown.append(ShownCell(cell, run, None, cell.score))
        elif run is None:
            shown.append(ShownCell(None, None, "not run", None))
        elif run.status == AlgorithmRunStatus.SUCCEEDED and matrix.withholds(
            task, row.algorithm, run
        ):
            why = matrix.withheld_cell(task, row.algorithm, run)
            shown.append(ShownCell(None, run, why, None, hidden=True))
        else:
            score = (
                run_score(run=run, task=task, split=matrix.split)
                if run.status == AlgorithmRunStatus.SUCCEEDED
                else None
            )
            shown.append(ShownCell(None, run, cell_reason(run=run, baseline=baseline), score))
    return shown


def run_score(*, run: AlgorithmRun, task: Task, split: str) -> float | None:
    """The run's primary score on ``split``: its submission's, or (an organizer's run) the
    scores stored on it; None when it has none."""
    scores = run.submission.scores if run.submission_id else run.scores
    primary = task.primary_metric or kind_get(task.kind).primary
    value = ((scores or {}).get(split) or {}).get(primary)
    return float(value) if isinstance(value, int | float) else None


def transfer_robustness(*, matrix: TransferMatrix) -> dict[int, dict | None]:
    """The robustness view of the matrix (docs/organizers/stress.md): run id -> the figures of its
    method's stress run on the cell's task, on the matrix's split (None: none yet)."""
    runs = [
        run
        for row in matrix.rows
        for task, run in zip(matrix.tasks, row.runs, strict=True)
        if run is not None and not matrix.withholds(task, row.algorithm, run)
    ]
    return robustness_for_runs(runs=runs, split=matrix.split)
