"""The transfer matrix of a track: every algorithm x every task, computed by the platform.

A cell is the algorithm's latest finished run on the task (newest version first, then the
newest run): a team's run through the submission it made, an organizer's run through the
scores and predictions stored on the run. A scored one's value is the score minus the
task's baseline (the baseline entry of the task's board on the same split), oriented so
that a positive delta is better whatever the metric's direction, with a paired bootstrap
interval; each row ends with the algorithm's mean over the track's tasks it has a value on,
of the tasks' track values (``TaskKind.track_value``: the score itself for accuracy or F1,
R² clipped to [0, 1] for regression), so a track mixing kinds averages comparable numbers.
A **failed** one (the run failed, or its submission failed at scoring: the run follows it)
is shown as failed with the run's reason, never as "not run"; a run whose submission is
still being scored, and a cancelled run, say nothing about the algorithm and are passed
over. The private split is shown only when :func:`leaderboard.selectors.private_visible`
allows. Cells are cached by the ids of the two prediction files, so a new run or a new
baseline is a new key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from django.core.cache import cache
from django.db.models.fields.files import FieldFile

from algorithms.models import STRESS_PROFILES, Algorithm, AlgorithmRun, AlgorithmRunStatus
from algorithms.stress_selectors import robustness_for_runs
from challenge_platform.models import Track
from datasets.models import Task
from kinds import kind_get
from leaderboard.core.bootstrap import has_bootstrap
from leaderboard.core.transfer import TransferCell, transfer_cell
from scoring.core import load_predictions
from scoring.models import SubmissionStatus
from scoring.solutions import solution_for_task

from .models import LeaderboardEntry, Split

logger = logging.getLogger(__name__)

CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class TransferRow:
    algorithm: Algorithm
    cells: list[TransferCell | None]  # in task order
    runs: list[AlgorithmRun | None]
    mean_delta: float | None
    mean_score: float | None
    covered: int


@dataclass(frozen=True)
class TransferMatrix:
    track: Track
    split: str
    tasks: list[Task]
    rows: list[TransferRow]


def _latest_runs(tasks: list[Task]) -> dict[tuple[int, int], AlgorithmRun]:
    """(algorithm id, task id) -> the newest run that says something about the algorithm:
    failed, or succeeded with a score (see the module)."""
    runs = (
        AlgorithmRun.objects.filter(
            task__in=tasks,
            status__in=(AlgorithmRunStatus.SUCCEEDED, AlgorithmRunStatus.FAILED),
        )
        .exclude(profile__in=STRESS_PROFILES)  # their cells are the robustness view's
        .select_related("version__algorithm__team", "submission")
        .order_by("-version__number", "-finished_at", "-pk")
    )
    latest: dict[tuple[int, int], AlgorithmRun] = {}
    for run in runs:
        if run.status == AlgorithmRunStatus.SUCCEEDED:
            if run.submission_id and run.submission.status != SubmissionStatus.SCORED:
                continue
            if not run.submission_id and not run.predictions:
                continue
        latest.setdefault((run.version.algorithm_id, run.task_id), run)
    return latest


def run_score(run: AlgorithmRun, task: Task, split: str) -> float | None:
    """The run's primary score on ``split``: its submission's, or (an organizer's run) the
    scores stored on it; None when it has none."""
    scores = run.submission.scores if run.submission_id else run.scores
    primary = task.primary_metric or kind_get(task.kind).primary
    value = ((scores or {}).get(split) or {}).get(primary)
    return float(value) if isinstance(value, int | float) else None


def _predictions(field: FieldFile) -> np.ndarray:
    with field.open("rb") as handle:
        return np.asarray(load_predictions(handle.read()).pred)


def _cell(run: AlgorithmRun, task: Task, baseline: LeaderboardEntry, split: str) -> TransferCell:
    source = run.submission.predictions if run.submission_id else run.predictions
    # v2: cells keep their row resamples (the decomposition's intervals, DESIGN §12)
    key = f"transfer:v2:{split}:{task.pk}:{source.name}:{baseline.submission.predictions.name}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    solution = solution_for_task(task)
    public = np.asarray(solution.is_public, dtype=bool)
    cell = transfer_cell(
        y=np.asarray(solution.y),
        pred=_predictions(source),
        baseline_pred=_predictions(baseline.submission.predictions),
        kind=task.kind,
        metric=task.primary_metric or None,
        rows=public if split == Split.PUBLIC else ~public,
    )
    cache.set(key, cell, CACHE_SECONDS)
    return cell


def _track_values(
    run: AlgorithmRun | None, task: Task, baseline: LeaderboardEntry, split: str, cell: TransferCell
) -> tuple[float | None, float | None]:
    """What the run's and the baseline's scores add to a track's mean (the row's means)."""
    kind, metric = kind_get(task.kind), task.primary_metric
    scores = (run.submission.scores if run and run.submission_id else run and run.scores) or {}
    return (
        kind.track_value(metric, cell.score, scores.get(split) or {}),
        kind.track_value(metric, cell.baseline, baseline.metrics or {}),
    )


def transfer_matrix(*, track: Track, split: str = Split.PUBLIC) -> TransferMatrix:
    """Algorithms x tasks of ``track`` on ``split`` (the caller checks the split may be
    shown). Tasks whose primary metric the bootstrap does not compute have no cells."""
    tasks = list(track.tasks.order_by("order", "slug"))
    latest = _latest_runs(tasks)
    baselines = {
        e.task_id: e
        for e in LeaderboardEntry.objects.filter(
            task__in=tasks, split=split, is_baseline=True
        ).select_related("submission")
        if e.submission.predictions
    }
    algorithms = sorted(
        {run.version.algorithm for run in latest.values()},
        key=lambda a: (a.team.name.lower(), a.name.lower()),
    )
    rows = []
    for algorithm in algorithms:
        cells: list[TransferCell | None] = []
        runs: list[AlgorithmRun | None] = []
        values: list[tuple[float | None, float | None]] = []  # track values: run, baseline
        for task in tasks:
            run = latest.get((algorithm.pk, task.pk))
            baseline = baselines.get(task.pk)
            runs.append(run)
            usable = (
                run is not None
                and run.status == AlgorithmRunStatus.SUCCEEDED
                and baseline is not None
                and has_bootstrap(task.kind, task.primary_metric or None)
            )
            try:
                cell = _cell(run, task, baseline, split) if usable else None
            except Exception:  # one unreadable file must not take the page down
                logger.exception("transfer cell %s x %s failed", algorithm.pk, task.slug)
                cell = None
            cells.append(cell)
            if cell is not None:
                values.append(_track_values(run, task, baseline, split, cell))
        known = [(v, b) for v, b in values if v is not None and b is not None]
        rows.append(
            TransferRow(
                algorithm=algorithm,
                cells=cells,
                runs=runs,
                mean_delta=float(np.mean([v - b for v, b in known])) if known else None,
                mean_score=float(np.mean([v for v, _ in known])) if known else None,
                covered=len(known),
            )
        )
    rows.sort(key=lambda r: (r.mean_delta is None, -(r.mean_delta or 0.0)))
    return TransferMatrix(track=track, split=split, tasks=tasks, rows=rows)


def transfer_robustness(matrix: TransferMatrix) -> dict[int, dict | None]:
    """The robustness view of the matrix (docs/stress.md): run id -> the figures of its
    method's stress run on the cell's task, on the matrix's split (None: none yet)."""
    runs = [run for row in matrix.rows for run in row.runs if run is not None]
    return robustness_for_runs(runs=runs, split=matrix.split)
