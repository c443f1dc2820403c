"""A track's results as data (docs/participants/formats.md): one row per (method, task, split,
metric), every method (teams' entries, references and baselines, every algorithm of the transfer
matrix), read from the same boards and matrix the pages and the API show.

- **Boards** (:func:`leaderboard.boards.shown.task_board_for`, the task boards with their
  references, as the reader may see them: a ladder board's shown scores only, and none of
  its tasks' matrix cells, docs/organizers/ladder.md): every metric of each row; the primary metric
  with its bootstrap interval; ``nfr`` and ``pfr`` against the primary reference with
  theirs. A sealed reference (an owner's upload before the reveal) has no value, so no row.
- **Transfer matrix** (:func:`leaderboard.transfer.matrix.transfer_matrix`): each algorithm's
  cell on each task: its primary score, unless the board already has that run's row (the same
  submission: one row, the board's value, with its interval), and ``delta`` (the score minus
  the AutoGluon baseline's, positive when better) with its paired interval. A failed cell
  has no value, so no row.
- **Method**: ``<algorithm> v<version>`` for a row an algorithm run made (and
  ``... (run <id>)`` for a team's board entry made by another run than the matrix's cell of
  that version); a reference's name; none for a team's uploaded prediction file (the
  platform does not know its method).
- **Cost and provenance** of a row an algorithm run made: the run's ``cpu_seconds``,
  ``peak_memory_mb`` and wall seconds, its manifest's ``task_data_version`` (the data the
  method saw; otherwise the task's current version) and ``archive_sha256``, and
  ``reproduced``: the share of identical predictions in its finished reproduction (null
  when none).

The private split is in only when :func:`challenges.split_access.private_visible` allows it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple, dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from algorithms.models import AlgorithmRun
from algorithms.services.manifest import manifest_of, reproductions_of
from challenges.models import Track
from challenges.split_access import private_visible
from datasets.models import Task
from kinds import metric_direction
from leaderboard.boards.shown import hidden_phases, hidden_tasks, task_board_for
from leaderboard.models import LeaderboardEntry, Split
from leaderboard.transfer.matrix import TransferMatrix, transfer_matrix
from leaderboard.transfer.shown import run_score

COLUMNS = (
    "method",
    "team",
    "task",
    "split",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "direction",
    "cpu_seconds",
    "peak_memory_mb",
    "wall_seconds",
    "data_version",
    "archive_sha256",
    "reproduced",
)
DELTA = "delta"  # the transfer matrix's score minus the baseline's, oriented: higher is better


@dataclass(frozen=True)
class ResultRow:
    method: str | None
    team: str | None
    task: str
    split: str
    metric: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    direction: str
    cpu_seconds: float | None
    peak_memory_mb: float | None
    wall_seconds: float | None
    data_version: int
    archive_sha256: str | None
    reproduced: float | None

    def values(self) -> tuple[Any, ...]:
        return astuple(self)


@dataclass(frozen=True)
class _Provenance:
    """What a row says of the run behind it (all None for an uploaded file)."""

    cpu_seconds: float | None = None
    peak_memory_mb: float | None = None
    wall_seconds: float | None = None
    data_version: int | None = None
    archive_sha256: str | None = None
    reproduced: float | None = None


def results_splits(*, track: Track, user: AbstractBaseUser | AnonymousUser) -> list[str]:
    """The splits ``user`` may read the results of: public, and private once visible."""
    visible = private_visible(challenge=track.challenge, user=user)
    return [Split.PUBLIC, Split.PRIVATE] if visible else [Split.PUBLIC]


def track_results(*, track: Track, user: AbstractBaseUser | AnonymousUser) -> list[ResultRow]:
    """Every result of ``track`` that ``user`` may read, in task, split, board order."""
    tasks = list(track.tasks.order_by("order", "slug"))
    rows: list[ResultRow] = []
    for split in results_splits(track=track, user=user):
        matrix = transfer_matrix(track=track, split=split)
        rows += _split_rows(tasks, split, matrix, user)
    order = {t.slug: i for i, t in enumerate(tasks)}
    return sorted(rows, key=lambda r: (order[r.task], r.split != Split.PUBLIC))


def _label(run: AlgorithmRun) -> str:
    return f"{run.version.algorithm.name} v{run.version.number}"


def _split_rows(tasks: list[Task], split: str, matrix: TransferMatrix, user) -> list[ResultRow]:
    # The boards as ``user`` may see them: a ladder board's shown scores only, without the
    # intervals and flips of its exact rows, and none of its tasks' matrix cells
    # (docs/organizers/ladder.md).
    boards = {task.pk: task_board_for(task=task, split=split, user=user).rows for task in tasks}
    hidden = hidden_tasks(tasks=tasks, split=split, user=user)
    # A blind phase's runs: withheld until the reveal, and only those (0066).
    blind = hidden_phases(tasks=tasks, user=user)
    submission_ids = [
        row.submission_id
        for board in boards.values()
        for row in board
        if isinstance(row, LeaderboardEntry)
    ]
    board_runs = {
        run.submission_id: run
        for run in AlgorithmRun.objects.filter(submission_id__in=submission_ids).select_related(
            "version__algorithm"
        )
    }
    cells = {
        (row.algorithm.pk, task.pk): (cell, run)
        for row in matrix.rows
        for task, cell, run in zip(matrix.tasks, row.cells, row.runs, strict=True)
        if run is not None
        and run.status == "succeeded"
        and task.pk not in hidden
        and (row.algorithm.team.is_baseline or run.phase_id not in blind)
    }
    runs = [*board_runs.values(), *(run for _, run in cells.values())]
    reproduced = reproductions_of(run_pks=[run.pk for run in runs])
    rows: list[ResultRow] = []
    on_board: set[int] = set()
    for task in tasks:
        for entry in boards[task.pk]:
            run = (
                board_runs.get(entry.submission_id) if isinstance(entry, LeaderboardEntry) else None
            )
            method = _board_method(entry, run, cells, task)
            if run is not None:
                on_board.add(run.pk)
            rows += _entry_rows(task, split, entry, method, _provenance(run, task, reproduced))
    for (_, task_pk), (cell, run) in cells.items():
        task = next(t for t in tasks if t.pk == task_pk)
        rows += _cell_rows(task, split, cell, run, run.pk in on_board, reproduced)
    return rows


def _board_method(entry: Any, run: AlgorithmRun | None, cells: dict, task: Task) -> str | None:
    if run is None:
        return getattr(entry, "reference", None) or None  # a reference, or an uploaded file
    in_matrix = cells.get((run.version.algorithm_id, task.pk))
    if (
        in_matrix is not None
        and in_matrix[1].pk != run.pk
        and in_matrix[1].version_id == (run.version_id)
    ):
        return f"{_label(run)} (run {run.pk})"  # not the matrix's cell of this version
    return _label(run)


def _provenance(
    run: AlgorithmRun | None, task: Task, reproduced: dict[int, dict[str, Any]]
) -> _Provenance:
    if run is None:
        return _Provenance(data_version=task.data_version)
    manifest = manifest_of(run=run)
    agreement = (reproduced.get(run.pk) or {}).get("agreement")
    return _Provenance(
        cpu_seconds=run.cpu_seconds,
        peak_memory_mb=run.peak_memory_mb,
        wall_seconds=manifest.get("wall_seconds") or run.seconds,
        data_version=manifest.get("task_data_version") or task.data_version,
        archive_sha256=manifest.get("archive_sha256"),
        reproduced=agreement,
    )


def _row(
    *,
    method: str | None,
    team: str | None,
    task: Task,
    split: str,
    metric: str,
    value: float | None,
    ci: tuple[float | None, float | None] = (None, None),
    direction: str | None = None,
    provenance: _Provenance,
) -> ResultRow:
    return ResultRow(
        method=method,
        team=team,
        task=task.slug,
        split=split,
        metric=metric,
        value=_number(value),
        ci_low=_number(ci[0]),
        ci_high=_number(ci[1]),
        direction=direction or metric_direction(metric),
        cpu_seconds=provenance.cpu_seconds,
        peak_memory_mb=provenance.peak_memory_mb,
        wall_seconds=provenance.wall_seconds,
        data_version=int(provenance.data_version or task.data_version),
        archive_sha256=provenance.archive_sha256,
        reproduced=provenance.reproduced,
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _entry_rows(
    task: Task, split: str, entry: Any, method: str | None, provenance: _Provenance
) -> Iterable[ResultRow]:
    """A board row's values: every metric it has (the primary with the score's interval),
    and its flip rates against the primary reference with theirs."""
    team = None if entry.team_id is None else entry.team.name
    metrics = dict(entry.metrics or {})
    if entry.score is not None:
        metrics[task.primary_metric] = entry.score
    names = sorted(metrics, key=lambda m: (m != task.primary_metric, m))
    for name in names:
        if _number(metrics[name]) is None:
            continue
        primary = name == task.primary_metric
        yield _row(
            method=method,
            team=team,
            task=task,
            split=split,
            metric=name,
            value=metrics[name],
            ci=(entry.score_low, entry.score_high) if primary else (None, None),
            provenance=provenance,
        )
    for name in ("nfr", "pfr"):
        value = getattr(entry, name, None)
        if _number(value) is not None:
            yield _row(
                method=method,
                team=team,
                task=task,
                split=split,
                metric=name,
                value=value,
                ci=(getattr(entry, f"{name}_low", None), getattr(entry, f"{name}_high", None)),
                provenance=provenance,
            )


def _cell_rows(
    task: Task,
    split: str,
    cell: Any,
    run: AlgorithmRun,
    on_board: bool,
    reproduced: dict[int, dict[str, Any]],
) -> Iterable[ResultRow]:
    """A transfer cell's values: its primary score (unless its run's board row gave it) and
    its delta against the baseline, with the paired interval."""
    provenance = _provenance(run, task, reproduced)
    method, team = _label(run), run.version.algorithm.team.name
    score = cell.score if cell is not None else run_score(run=run, task=task, split=split)
    if not on_board and _number(score) is not None:
        yield _row(
            method=method,
            team=team,
            task=task,
            split=split,
            metric=task.primary_metric,
            value=score,
            provenance=provenance,
        )
    if cell is not None:
        yield _row(
            method=method,
            team=team,
            task=task,
            split=split,
            metric=DELTA,
            value=cell.delta,
            ci=(cell.delta_low, cell.delta_high),
            direction="higher",  # sign * (score - baseline): positive is better either way
            provenance=provenance,
        )
