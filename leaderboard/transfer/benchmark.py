"""What is the method and what is the data, and cost beside quality, for a track's transfer
matrix (issue 26, docs/architecture.md §12): the Django side of
:mod:`leaderboard.core.benchmark`.

- :func:`transfer_decomposition`: the matrix's scored cells (delta = score - the AutoGluon
  baseline's, positive is better) split into algorithm effect, task difficulty and
  interaction by least squares, with each team's home advantage (its algorithms on the tasks
  it contributed, ``Task.owner_team``), with t intervals from the two-way model (or null and
  a reason where the cells cannot support one); each cell's row resamples come with the cell
  from the cell cache (the same rows for every algorithm on a task) and measure the row
  noise (``noise_share``). The result is cached by a digest of its
  inputs, so an unchanged matrix is never refitted. The baseline's own row is left out of
  the fit (its delta is 0 by construction: it is the reference, not a method).
- :func:`transfer_frontier`: each algorithm's mean delta over the tasks it has a value on
  against its mean CPU-seconds per run on those cells: the Pareto frontier.

Both read only the matrix they are given: the caller chose the split it may show, and the
cells the reader may see (a matrix that withholds a ladder board's cells,
``leaderboard.transfer.matrix``, is fitted on the cells it keeps, under keys of its own, and says
why the rest has no figure).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.cache import cache

from algorithms.models import BASELINE_PROFILE
from common.benchmark_svg import CostQuality, EffectBar, effects_svg, frontier_svg
from jobs import lifecycle
from leaderboard import task_names
from leaderboard.core.benchmark.decomposition import (
    HOME_MODEL,
    MEAN_MODEL,
    MODEL,
    NOISE_MODEL,
    BenchmarkAlgorithm,
    BenchmarkTask,
    Decomposition,
    DeltaCell,
    decompose_transfer,
)
from leaderboard.core.benchmark.frontier import CostPoint, Frontier, quality_cost_frontier
from leaderboard.core.transfer import TransferCell
from leaderboard.transfer.matrix import TransferMatrix, TransferRow, cell_resamples
from leaderboard.transfer.shown import withheld_note

logger = logging.getLogger(__name__)

ALPHA = 0.05
CACHE_SECONDS = 24 * 3600
REFIT_LOCK_SECONDS = 600  # one refit queued per matrix within this (a lost one: queued again)


@dataclass(frozen=True)
class MatrixDecomposition:
    """The decomposition with the names the pages and the API show; ``updating``: the
    track's last fit, of an earlier matrix, while a worker fits this one."""

    decomposition: Decomposition | None  # None: no scored cell
    algorithm_names: dict[str, tuple[int, str, str]]  # key -> (algorithm id, name, team)
    team_names: dict[int, str]  # team id -> name
    updating: bool = False
    # The matrix's withheld tasks (``leaderboard.transfer.shown.withheld_note``): None when none.
    withheld: dict | None = None


def _compared(matrix: TransferMatrix) -> list[TransferRow]:
    """The rows the decomposition compares: not the baseline's own (its delta is 0 on every
    task by construction: it is the point the deltas are measured from, not a method that
    would pull the "average algorithm" towards it)."""
    return [
        row
        for row in matrix.rows
        if not any(
            run is not None and run.profile == BASELINE_PROFILE for run in row.runs + row.pending
        )
    ]


def _fitted(matrix: TransferMatrix) -> list[tuple[str, str, float, str]]:
    """(algorithm key, task, delta, cell key) of every cell the fit takes, in order."""
    cells = []
    for row in _compared(matrix):
        for task, cell, key in zip(matrix.tasks, row.cells, row.keys, strict=True):
            if cell is None or key is None or not np.isfinite(cell.delta):
                continue  # a score the metric could not compute: no delta to decompose
            cells.append((str(row.algorithm.pk), task.slug, float(cell.delta), key))
    return cells


def _cells(matrix: TransferMatrix, fitted: list[tuple[str, str, float, str]]) -> list[DeltaCell]:
    """The fit's cells with their row resamples (read from the cell cache only now)."""
    resamples = cell_resamples(matrix=matrix)
    cells = []
    for algorithm, task, delta, key in fitted:
        drawn = resamples.get(key)
        if drawn is None or not np.isfinite(drawn).all():
            continue
        cells.append(
            DeltaCell(
                algorithm=algorithm,
                task=task,
                delta=delta,
                resamples=np.asarray(drawn, dtype=np.float64),
            )
        )
    return cells


def _digest(
    algorithms: list[BenchmarkAlgorithm],
    tasks: list[BenchmarkTask],
    fitted: list[tuple[str, str, float, str]],
) -> str:
    """What a fit depends on: the algorithms and tasks, and each cell's key (its task, split
    and both prediction files: what its resamples are drawn from) and delta."""
    digest = hashlib.sha256()
    digest.update(repr([(a.name, a.team) for a in algorithms]).encode())
    digest.update(repr([(t.name, t.owner) for t in tasks]).encode())
    for algorithm, task, delta, key in fitted:
        digest.update(f"{algorithm}|{task}|{delta!r}|{key}|".encode())
    return digest.hexdigest()


def _latest_key(matrix: TransferMatrix) -> str:
    """The track's last fit on the split, for readers who see the same cells (one key per
    set of withheld tasks: a fit of cells a reader may not see is never shown to them)."""
    view = ",".join(str(pk) for pk in sorted(matrix.hidden))
    if matrix.hidden_phases:  # a blind phase's cells withheld (docs/decisions/0066-phases.md)
        view += ":phases:" + ",".join(str(pk) for pk in sorted(matrix.hidden_phases))
    return f"transfer-decomposition-latest:v3:{matrix.track.pk}:{matrix.split}:{view}"


def transfer_decomposition(*, matrix: TransferMatrix, wait: bool = False) -> MatrixDecomposition:
    """The decomposition of ``matrix``'s scored cells (module docstring). ``wait``: fit this
    matrix now even when an earlier fit of the track could be shown meanwhile (the
    refit's worker)."""
    algorithms = [
        BenchmarkAlgorithm(name=str(row.algorithm.pk), team=row.algorithm.team_id)
        for row in _compared(matrix)
    ]
    tasks = [BenchmarkTask(name=task.slug, owner=task.owner_team_id) for task in matrix.tasks]
    names = {
        str(row.algorithm.pk): (row.algorithm.pk, row.algorithm.name, row.algorithm.team.name)
        for row in matrix.rows
    }
    teams = {row.algorithm.team_id: row.algorithm.team.name for row in matrix.rows}
    withheld = withheld_note(matrix=matrix)
    fitted = _fitted(matrix)
    if not fitted:
        if withheld is None:
            return MatrixDecomposition(None, names, teams)
        # Every cell there is hidden from this reader: each algorithm and task, unplaced.
        empty = decompose_transfer(algorithms=algorithms, tasks=tasks, cells=[], alpha=ALPHA)
        return MatrixDecomposition(empty, names, teams, withheld=withheld)
    digest = _digest(algorithms, tasks, fitted)
    key = f"transfer-decomposition:v3:{digest}"  # v3: the two-way model (issue 38)
    decomposition = cache.get(key)
    if decomposition is not None:
        return MatrixDecomposition(decomposition, names, teams, withheld=withheld)
    if not wait:
        last = cache.get(_latest_key(matrix))
        if isinstance(last, Decomposition) and _names_known(last, names):
            _queue_refit(matrix, digest)
            return MatrixDecomposition(last, names, teams, updating=True, withheld=withheld)
    cells = _cells(matrix, fitted)
    if not cells:
        return MatrixDecomposition(None, names, teams, withheld=withheld)
    # Without its per-cell fits (one a cell, the core's; nothing here shows them): a
    # 20,000-cell fit read from the cache is then its effects, not 20,000 objects.
    decomposition = dataclasses.replace(
        decompose_transfer(algorithms=algorithms, tasks=tasks, cells=cells, alpha=ALPHA, seed=0),
        cell_fits=(),
    )
    cache.set_many({key: decomposition, _latest_key(matrix): decomposition}, CACHE_SECONDS)
    return MatrixDecomposition(decomposition, names, teams, withheld=withheld)


def _names_known(decomposition: Decomposition, names: dict[str, tuple[int, str, str]]) -> bool:
    """Whether every algorithm of an earlier fit is still one the page can name."""
    return all(effect.algorithm in names for effect in decomposition.algorithm_effects)


def _queue_refit(matrix: TransferMatrix, digest: str) -> None:
    """Ask a worker to fit this matrix, once per matrix (a lost message: asked again after
    the lock's time, by the next reader)."""
    if cache.add(f"transfer-decomposition-refit:{digest}", 1, REFIT_LOCK_SECONDS):
        lifecycle.publish(
            task_name=task_names.TRANSFER_DECOMPOSITION_REFIT,
            track_id=matrix.track.pk,
            split=matrix.split,
            hidden=sorted(matrix.hidden),
            hidden_phases=sorted(matrix.hidden_phases),
        )


NO_ROW_VARIANCE = (
    "the delta is the same on every row resample (too few test rows, or rows that all agree): "
    "the bootstrap cannot measure its noise, so no interval is claimed"
)


def cell_interval(*, cell: TransferCell | None) -> dict[str, Any]:
    """A transfer cell's ``ci`` [lo, hi] and the ``reason`` when it is null: none for a
    cell without a score, and none for a cell with no variance across its row resamples
    unless its delta is 0 on every one (predictions as right as the baseline's on every
    row: a difference of exactly 0 whatever rows are drawn)."""
    if cell is None:
        return {"ci": None, "reason": None}
    if cell.flat and cell.delta != 0:
        return {"ci": None, "reason": NO_ROW_VARIANCE}
    return {"ci": [cell.delta_low, cell.delta_high], "reason": None}


def _interval(ci: tuple[float, float] | None) -> list[float] | None:
    return None if ci is None else [float(ci[0]), float(ci[1])]


# Which model each figure comes from (docs/developers/benchmark-statistics.md §1).
MODELS = {
    "algorithm_effects": MODEL,
    "task_difficulty": MODEL,
    "interaction_share": MODEL,
    "home_advantage": HOME_MODEL,
    "mean": MEAN_MODEL,
    "noise_share": NOISE_MODEL,
}


def decomposition_payload(*, result: MatrixDecomposition) -> dict[str, Any]:
    """docs/architecture.md §12's ``"decomposition"`` object: ``algorithm_effects``,
    ``task_difficulty``, ``interaction_share`` and ``home_advantage`` exactly, with what explains
    them beside (``n_tasks``, ``note``...), and issue 38's ``noise_share``, ``residual_df``,
    ``model`` and a ``reason`` beside every interval that is null. Nulls and empty lists when there
    is nothing to fit."""
    d = result.decomposition
    if d is None:
        nothing = "no scored cell with a baseline: nothing to decompose"
        if result.withheld is not None:
            nothing = result.withheld["reason"]
        return {
            "algorithm_effects": [],
            "task_difficulty": [],
            "interaction_share": None,
            "home_advantage": [],
            "interaction_share_ci": None,
            "interaction_share_reason": nothing,
            "noise_share": None,
            "noise_share_reason": nothing,
            "residual_df": 0,
            "residual_sd": None,
            "model": MODEL,
            "models": MODELS,
            "mean": None,
            "mean_ci": None,
            "mean_reason": nothing,
            "n_resamples": 0,
            "alpha": ALPHA,
            "note": nothing,
            "updating": False,
            "withheld": result.withheld,
        }
    algorithm_effects = []
    for effect in d.algorithm_effects:
        pk, name, team = result.algorithm_names[effect.algorithm]
        algorithm_effects.append(
            {
                "algorithm": pk,
                "name": name,
                "team": team,
                "effect": effect.effect,
                "ci": _interval(effect.ci),
                "reason": effect.reason,
                "adjusted_delta": effect.adjusted_delta,
                "adjusted_ci": _interval(effect.adjusted_ci),
                "n_tasks": effect.n_tasks,
                "note": effect.note,
            }
        )
    payload = {
        "algorithm_effects": algorithm_effects,
        "task_difficulty": [
            {
                "task": effect.task,
                "effect": effect.effect,
                "ci": _interval(effect.ci),
                "reason": effect.reason,
                "n_algorithms": effect.n_algorithms,
                "note": effect.note,
            }
            for effect in d.task_difficulty
        ],
        "interaction_share": d.interaction_share,
        "home_advantage": [
            {
                "team": result.team_names.get(home.team, str(home.team)),
                "team_id": home.team,
                "value": home.value,
                "ci": _interval(home.ci),
                "reason": home.reason,
                "own_cells": home.own_cells,
                "other_cells": home.other_cells,
                "note": home.note,
            }
            for home in d.home_advantage
        ],
        "interaction_share_ci": _interval(d.interaction_share_ci),
        "interaction_share_reason": d.interaction_share_reason,
        "noise_share": d.noise_share,
        "noise_share_reason": d.noise_share_reason,
        "residual_df": d.residual_df,
        "residual_sd": d.residual_sd,
        "home_residual_df": d.home_residual_df,
        "model": d.model,
        "models": MODELS,
        "mean": d.mean,
        "mean_ci": _interval(d.mean_ci),
        "mean_reason": d.mean_reason,
        "n_resamples": d.n_resamples,
        "alpha": d.alpha,
        "note": d.note,
        # The track's last fit, of a matrix before its newest cells, while a worker refits.
        "updating": result.updating,
        "withheld": result.withheld,
    }
    return _withheld_reasons(payload, result.withheld)


def _withheld_reasons(payload: dict[str, Any], withheld: dict | None) -> dict[str, Any]:
    """The decomposition as a reader who may not see some tasks' cells reads it: a withheld
    task's difficulty, an algorithm with no cell it may see, and the figures of a fit with
    no cell at all, say why they are missing (the ladder boards) instead of "no cell"."""
    if withheld is None:
        return payload
    reason = withheld["reason"]
    hidden = set(withheld["tasks"])
    for item in payload["task_difficulty"]:
        if item["task"] in hidden:
            item.update(effect=None, ci=None, reason=reason, note=reason)
    for item in payload["algorithm_effects"]:
        if item["n_tasks"] == 0:
            item.update(reason=reason, note=reason)
    if payload["mean"] is None:
        for name in ("mean_reason", "interaction_share_reason", "noise_share_reason", "note"):
            payload[name] = reason
    return payload


@dataclass(frozen=True)
class FrontierRow:
    algorithm_id: int
    name: str
    team: str
    quality: float | None  # mean delta over the tasks it has a value on
    cpu_seconds: float | None  # mean CPU-seconds per run on those cells
    on_frontier: bool
    dominated_by: int | None  # algorithm id
    note: str | None


def transfer_frontier(*, matrix: TransferMatrix) -> tuple[list[FrontierRow], Frontier]:
    """Each algorithm's quality (mean delta) against its cost (mean CPU-seconds per scored
    run) and the frontier of those points, in the matrix's row order."""
    points, costs = [], {}
    for row in matrix.rows:
        seconds = [
            run.cpu_seconds
            for cell, run in zip(row.cells, row.runs, strict=True)
            if cell is not None and run is not None and run.cpu_seconds is not None
        ]
        cost = float(np.mean(seconds)) if seconds else None
        costs[row.algorithm.pk] = cost
        points.append(
            CostPoint(name=str(row.algorithm.pk), quality=row.mean_delta, cpu_seconds=cost)
        )
    frontier = quality_cost_frontier(points=points, higher_is_better=True)
    rows = [
        FrontierRow(
            algorithm_id=row.algorithm.pk,
            name=row.algorithm.name,
            team=row.algorithm.team.name,
            quality=point.quality,
            cpu_seconds=point.cpu_seconds,
            on_frontier=point.on_frontier,
            dominated_by=None if point.dominated_by is None else int(point.dominated_by),
            note=_frontier_note(matrix, row, point.note, point.quality),
        )
        for row, point in zip(matrix.rows, frontier.points, strict=True)
    ]
    return rows, frontier


def _frontier_note(
    matrix: TransferMatrix, row: TransferRow, note: str | None, quality: float | None
) -> str | None:
    """Why a point is not placed: for a row whose every delta is withheld from the reader
    (the ladder boards, ``leaderboard.transfer.matrix``), that, rather than "no quality score"."""
    withheld = withheld_note(matrix=matrix)
    if quality is None and withheld is not None:
        hidden = [
            run is not None and matrix.withholds(task, row.algorithm, run)
            for task, run in zip(matrix.tasks, row.runs, strict=True)
        ]
        if any(hidden):
            return withheld["reason"]
    return note


def frontier_payload(*, rows: list[FrontierRow], frontier: Frontier) -> dict[str, Any]:
    """The transfer API's ``"frontier"``: quality (mean delta) against mean CPU-seconds."""
    return {
        "quality": "mean_delta",
        "cost": "cpu_seconds",
        "points": [
            {
                "algorithm": r.algorithm_id,
                "name": r.name,
                "team": r.team,
                "quality": r.quality,
                "cpu_seconds": r.cpu_seconds,
                "on_frontier": r.on_frontier,
                "dominated_by": r.dominated_by,
                "note": r.note,
            }
            for r in rows
        ],
        "frontier": [int(name) for name in frontier.frontier],
    }


@dataclass(frozen=True)
class TransferPageParts:
    decomposition: dict[str, Any]  # the API's "decomposition"
    effects_svg: str
    frontier: list[FrontierRow]
    frontier_svg: str
    # Whether there is a fit to show (every effect unplaced because the reader may see no
    # cell: no tables, the reason instead).
    decomposed: bool = False


def transfer_page_parts(*, matrix: TransferMatrix) -> TransferPageParts:
    """What the transfer page shows beside the matrix: the decomposition (its plot and
    tables) and the quality-cost frontier (its plot and table)."""
    decomposition = decomposition_payload(result=transfer_decomposition(matrix=matrix))
    titles = {t.slug: t.title for t in matrix.tasks}

    def bars(items: list[dict[str, Any]], name: Any) -> list[EffectBar]:
        return [
            EffectBar(
                name=name(item),
                effect=item["effect"],
                low=item["ci"][0] if item["ci"] else None,
                high=item["ci"][1] if item["ci"] else None,
            )
            for item in items
        ]

    effects = decomposition["algorithm_effects"]
    decomposed = bool(effects) and (
        decomposition["withheld"] is None or any(e["effect"] is not None for e in effects)
    )
    svg = ""
    if decomposed:
        svg = effects_svg(
            [
                (
                    "Algorithm effect (above the average algorithm)",
                    bars(
                        decomposition["algorithm_effects"],
                        lambda e: f"{e['name']} ({e['team']})",
                    ),
                ),
                (
                    "Task difficulty (above the average task; below 0: harder to beat the "
                    "baseline)",
                    bars(decomposition["task_difficulty"], lambda e: titles[e["task"]]),
                ),
            ],
            title=f"{matrix.track.title}: what is the method and what is the data "
            f"({matrix.split} rows)",
        )
    rows, _ = transfer_frontier(matrix=matrix)
    return TransferPageParts(
        decomposed=decomposed,
        decomposition=decomposition,
        effects_svg=svg,
        frontier=rows,
        frontier_svg=frontier_svg(
            [
                CostQuality(
                    name=f"{r.name} ({r.team})",
                    cpu_seconds=r.cpu_seconds,
                    quality=r.quality,
                    on_frontier=r.on_frontier,
                )
                for r in rows
            ],
            title=f"{matrix.track.title}: quality against cost ({matrix.split} rows)",
        )
        if rows
        else "",
    )
