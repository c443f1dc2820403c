"""Weighing an entry against a task's champion: the gate's inputs from the task, its figures
as the release check's document (docs/organizers/champion-gate.md).

- :func:`gate_split`: the split the gate decides on: public until the challenge's private
  split is revealed, private from then on, for everyone (the private verdict is never
  shown early; the same rule as the private scores);
- :func:`gate_context`: what every weighing of a task needs once: the solution, the split's
  rows, the settings (``gate_nfr_epsilon`` of the task, else of the challenge; the
  challenge's level) and the slice columns (``task.json``'s ``slices``, from the test file);
- :func:`weigh`: :func:`leaderboard.core.gate.gate_evaluate` of a candidate's predictions
  against the champion entry;
- :func:`gate_document`: the JSON every surface shows (release check, stored checks), before
  ``.disclosure`` says what of it a reader may see.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from challenges.models import Challenge
from datasets.models import Task
from kinds import kind_get
from leaderboard.core.gate import GateResult, GateSettings, gate_evaluate
from leaderboard.core.gate_statistics import SliceColumn
from leaderboard.models import Split
from scoring.core import Solution
from scoring.solutions import solution_for_task

from .entries import Entry, EntryUnreadable
from .start import entry_is_floor

SEED = 0  # the gate's bootstrap seed: a check is the same whenever and wherever it runs


def gate_split(*, challenge: Challenge) -> str:
    """``private`` once the challenge's private split is revealed, else ``public``."""
    return Split.PRIVATE if challenge.private_visible() else Split.PUBLIC


def gate_settings(*, task: Task) -> GateSettings:
    """The task's ``gate_nfr_epsilon`` (else its challenge's) and the challenge's level."""
    challenge = task.track.challenge
    epsilon = task.gate_nfr_epsilon
    if epsilon is None:
        epsilon = challenge.gate_nfr_epsilon
    return GateSettings(epsilon=float(epsilon), alpha=float(challenge.alpha), seed=SEED)


@dataclass(frozen=True, eq=False)
class GateContext:
    """One task's gate inputs (solution, split, rows, settings, slice columns)."""

    task: Task
    split: str
    solution: Solution
    rows: np.ndarray
    settings: GateSettings
    slices: Mapping[str, SliceColumn]

    @property
    def slice_names(self) -> list[str]:
        return list(self.slices)


def task_slice_columns(*, task: Task, solution: Solution) -> dict[str, SliceColumn]:
    """``task.json``'s ``slices``: each column of the test file as codes per solution row
    (the test file's rows are the solution's, by id)."""
    names = [str(name) for name in (task.meta or {}).get("slices") or []]
    if not names:
        return {}
    with task.test_parquet.open("rb") as handle:
        table = pq.read_table(handle, columns=["id", *names])
    ids = table.column("id").combine_chunks()
    expected = solution.ids
    same = (
        len(ids) == len(expected)
        and pc.all(pc.equal(ids.cast(pa.string()), expected.cast(pa.string()))).as_py()
    )
    order = (
        None if same else pc.index_in(expected.cast(pa.string()), value_set=ids.cast(pa.string()))
    )
    out: dict[str, SliceColumn] = {}
    for name in names:
        column = table.column(name).combine_chunks()
        if order is not None:
            column = column.take(order)
        encoded = pc.dictionary_encode(column.cast(pa.string()))
        codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), np.int64)
        out[name] = SliceColumn(codes, [str(v) for v in encoded.dictionary.to_pylist()])
    return out


def gate_context(*, task: Task, split: str | None = None) -> GateContext:
    """The inputs of every weighing of ``task`` on ``split`` (default: :func:`gate_split`)."""
    split = split or gate_split(challenge=task.track.challenge)
    solution = solution_for_task(task=task)
    public = np.asarray(solution.is_public, dtype=bool)
    return GateContext(
        task=task,
        split=split,
        solution=solution,
        rows=public if split == Split.PUBLIC else ~public,
        settings=gate_settings(task=task),
        slices=task_slice_columns(task=task, solution=solution),
    )


def champion_pred(*, context: GateContext, champion: Entry) -> np.ndarray:
    """The champion's predictions, checked against the task's current data."""
    pred = np.asarray(champion.predictions().pred)
    if pred.shape != np.shape(context.solution.y):
        raise EntryUnreadable(
            f"the champion ({champion.label}) was scored on another version of the task's data; "
            "an organizer may pin a champion for the current data"
        )
    return pred


def weigh(
    *,
    context: GateContext,
    pred: np.ndarray,
    scores: Mapping[str, Mapping[str, Any]],
    champion: Entry,
    champion_predictions: np.ndarray | None = None,
) -> GateResult:
    """The gate of predictions ``pred`` (with their stored ``scores`` per split) against
    ``champion`` on the context's split (:class:`EntryUnreadable` when either cannot be
    compared with the task's data)."""
    reference = (
        champion_pred(context=context, champion=champion)
        if champion_predictions is None
        else champion_predictions
    )
    pred = np.asarray(pred)
    if pred.shape != reference.shape:
        raise EntryUnreadable("the entry was scored on another version of the task's data")
    metric = context.task.primary_metric
    split = context.split
    settings = replace(context.settings, floor_champion=entry_is_floor(entry=champion))
    return gate_evaluate(
        kind=context.task.kind,
        metric=metric,
        y=np.asarray(context.solution.y),
        new=pred,
        champion=reference,
        rows=context.rows,
        options=context.solution.options,
        slices=context.slices,
        settings=settings,
        scores=(champion.scores(split).get(metric), (scores.get(split) or {}).get(metric)),
    )


def public_broken_ids(
    *, context: GateContext, pred: np.ndarray, champion_predictions: np.ndarray, limit: int
) -> list[Any]:
    """The ids of the first ``limit`` public rows the new predictions break (whatever the
    gate's split: no private row is ever named)."""
    if limit <= 0:
        return []
    solution = context.solution
    public = solution.public_rows
    _, broken = kind_get(context.task.kind).gate_flips(
        solution.y_public,
        np.take(np.asarray(pred), public),
        np.take(np.asarray(champion_predictions), public),
        solution.options,
    )
    rows = public[np.flatnonzero(np.asarray(broken, dtype=bool))[:limit]]
    return solution.ids.take(pa.array(rows, type=pa.int64())).to_pylist()


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _pair(values: tuple[float, float] | None) -> list[float | None] | None:
    return None if values is None else [_number(values[0]), _number(values[1])]


def opis_change(
    *, scores: Mapping[str, Mapping[str, Any]], champion: Entry, split: str
) -> float | None:
    """The new entry's OPIS minus the champion's on ``split`` (negative: more consistent);
    None unless both have one (scores given, and the kind computes it)."""
    new = (scores.get(split) or {}).get("opis")
    old = champion.scores(split).get("opis")
    if new is None or old is None:
        return None
    return _number(float(new) - float(old))


def gate_document(
    *,
    context: GateContext,
    result: GateResult,
    champion: Entry,
    scores: Mapping[str, Mapping[str, Any]],
    broken_ids: list[Any],
) -> dict[str, Any]:
    """The release check's fields (docs/organizers/champion-gate.md), then what explains them:
    the metric, epsilon, the level, the champion weighed against and the reasons."""
    mcnemar = result.mcnemar
    return {
        "split": context.split,
        "difference": _number(result.difference),
        "ci": _pair(result.ci),
        "nfr": _number(result.nfr),
        "nfr_ci": _pair(result.nfr_ci),
        "pfr": _number(result.pfr),
        "pfr_ci": _pair(result.pfr_ci),
        "mcnemar": None
        if mcnemar is None
        else {"fixes": mcnemar.fixes, "breaks": mcnemar.breaks, "p": _number(mcnemar.p)},
        "slices": [verdict.as_json() for verdict in result.slices],
        "opis_change": opis_change(scores=scores, champion=champion, split=context.split),
        "passes": bool(result.passes),
        "verdict": result.verdict,
        "rule": result.rule,
        "rows_needed": result.rows_needed,
        "broken_ids": broken_ids,
        "metric": result.metric,
        "epsilon": context.settings.epsilon,
        "alpha": context.settings.alpha,
        "champion": champion.as_json(),
        "worst_slice": None if result.worst_slice is None else result.worst_slice.as_json(),
        "reasons": list(result.reasons),
        # Kept with a stored check, never answered: the disclosure rule's count
        # (leaderboard.champion.disclosure drops it from every answer).
        "changed_rows": result.changed,
    }
