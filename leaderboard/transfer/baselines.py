"""Where each task's AutoGluon baseline stands, as a transfer matrix's deltas wait for it
(the matrix of :mod:`leaderboard.transfer.matrix`, docs/architecture.md §12;
docs/decisions/0011-a-reproducible-baseline.md): the baseline entries the cells are measured
from, and each task's :class:`BaselineState` (``scored``, ``queued``, ``running``, ``failed``
or ``not run``), which says why a cell's delta is still empty.
"""

from __future__ import annotations

from dataclasses import dataclass

from algorithms.failures import INVALID_OUTPUT, run_failure
from algorithms.models import BASELINE_PROFILE, AlgorithmRun, AlgorithmRunStatus
from datasets.models import Task
from leaderboard.models import LeaderboardEntry
from scoring.models import SubmissionStatus

# A task's AutoGluon baseline, as the transfer cells' deltas wait for it.
BASELINE_SCORED = "scored"
BASELINE_NOT_RUN = "not run"


@dataclass(frozen=True)
class BaselineState:
    """Where a task's AutoGluon baseline stands: ``scored`` (on the board: deltas exist),
    ``queued``, ``running`` (its run, or the scoring of its predictions), ``failed`` (with
    its category, :mod:`algorithms.failures`: public, so never the run's log or message)
    or ``not run``; ``run`` is the baseline run it speaks of, if any."""

    status: str
    run: AlgorithmRun | None = None
    error: str = ""

    @property
    def reason(self) -> str | None:
        """Why a cell of this task has no delta (None when the baseline is scored)."""
        if self.status == BASELINE_SCORED:
            return None
        if self.status == BASELINE_NOT_RUN:
            return "the task's AutoGluon baseline has not run: a delta needs its score"
        if self.status == "failed":
            return "the task's AutoGluon baseline failed: a delta needs its score (run it again)"
        return f"the task's AutoGluon baseline is {self.status}: a delta needs its score"


def task_baseline_states(*, tasks: list[Task], scored: set[int]) -> list[BaselineState]:
    newest: dict[int, AlgorithmRun] = {}
    runs = AlgorithmRun.objects.filter(
        task__in=tasks, profile=BASELINE_PROFILE, reproduces__isnull=True
    ).select_related("submission")
    for run in runs.order_by("-pk"):
        newest.setdefault(run.task_id, run)
    states = []
    for task in tasks:
        run = newest.get(task.pk)
        if task.pk in scored:
            states.append(BaselineState(BASELINE_SCORED, run))
        elif run is None or run.status == AlgorithmRunStatus.CANCELLED:
            states.append(BaselineState(BASELINE_NOT_RUN, run))
        elif run.status == AlgorithmRunStatus.FAILED:
            states.append(BaselineState("failed", run, run_failure(run=run) or ""))
        elif run.status == AlgorithmRunStatus.SUCCEEDED:
            failed = run.submission_id and run.submission.status == SubmissionStatus.FAILED
            states.append(
                BaselineState("failed", run, INVALID_OUTPUT)
                if failed
                else BaselineState("running", run)  # its predictions are being scored
            )
        else:
            states.append(BaselineState(str(run.status), run))
    return states


def baseline_entries(*, tasks: list[Task], split: str) -> dict[int, LeaderboardEntry]:
    """Each task's baseline entry on ``split`` by task id, where it has predictions to
    measure cells from."""
    return {
        e.task_id: e
        for e in LeaderboardEntry.objects.filter(
            task__in=tasks, split=split, is_baseline=True
        ).select_related("submission")
        if e.submission.predictions
    }
