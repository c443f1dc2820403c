"""The public board's ladder (docs/organizers/ladder.md): each team's entries weighed in the board's
refresh, and the leader its public board shows.

The refresh of a task's board (``leaderboard.refresh``) holds the task's turn: every
decision of a task is made there, one team's entries in the order they were made, against
the team's leader, with the predictions each scoring stored (``Submission.predictions``,
the solution's row order). A decision is kept as a :class:`LadderStep` under a key naming
its inputs (mode, settings, data version, both prediction files): a refresh reuses the
steps whose key still matches and decides the others again, so hiding an entry, a late
scoring of an earlier one, a new data version or a changed mode replays what follows it.

The pure rules are ``leaderboard.core.ladder``; who may see what is
``scoring.selectors.public_scores_shown``.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from common import board_modes
from datasets.models import Task
from kinds import kind_get, metric_info
from kinds.boards import ladder_supported
from leaderboard.core import ladder as rules
from leaderboard.core.bootstrap import statistic_resamples
from leaderboard.core.ranking import EntryInput, SubmissionInput, select_team_best
from leaderboard.models import LadderStep
from scoring.core.predictions import load_pred
from scoring.core.solution import Solution
from scoring.models import Submission
from scoring.solutions import solution_for_task

logger = logging.getLogger(__name__)


def ladder_statistic(*, task: Task) -> Any:
    """The statistic the ladder modes decide ``task``'s entries with (None: none)."""
    kind = kind_get(task.kind)
    return kind.ladder_statistic(task.primary_metric or kind.primary, classes=task.classes or [])


def task_board_mode(*, task: Task) -> str:
    """The mode ``task``'s public board runs in: its ``public_board``, or ``plain`` when its
    metric has nothing a ladder mode can decide with (``kinds.boards``: the console and the
    import never set such a mode; a later change of the metric could)."""
    mode = task.public_board
    if ladder_supported(ladder_statistic(task=task), mode, task.primary_metric or None):
        return mode
    return board_modes.PLAIN


def ladder_resolution(*, task: Task) -> float | None:
    """The step ``task``'s shown scores are rounded to in ``ladder`` and ``ladder-step`` modes
    (None in the other modes, or before a first decision): ``leaderboard.core.ladder.
    resolution`` of its public rows, as the decisions counted them."""
    mode = task_board_mode(task=task)
    if mode not in board_modes.ROUNDED:
        return None
    units = (
        LadderStep.objects.filter(task=task, mode=mode, units__gt=0)
        .values_list("units", flat=True)
        .first()
    )
    return rules.resolution(units) if units else None


def shown_digits(*, task: Task, split: str) -> int | None:
    """The decimals a team entry's shown score has on ``task``'s board on ``split``: its
    step's on the public split of a ``ladder``/``ladder-step`` board (2 on 2,000 rows: 0.62,
    never 0.6200), None elsewhere (a score's usual 4)."""
    step = ladder_resolution(task=task) if split == "public" else None
    return None if step is None else max(0, round(-math.log10(step)))


@dataclass(frozen=True)
class Leader:
    """A team's entry on the public board: the submission that last climbed and its shown
    score."""

    submission: SubmissionInput
    shown_score: float


class _Public:
    """The task's public rows, read once per refresh and only when a decision needs them."""

    def __init__(self, task: Task, statistic: Any) -> None:
        self.task = task
        self.statistic = statistic
        self._preds: dict[str, np.ndarray] = {}

    @cached_property
    def _solution(self) -> Solution:
        return solution_for_task(task=self.task)

    @cached_property
    def y(self) -> np.ndarray:
        return self._solution.y_public  # (made once per process and solution)

    @cached_property
    def units(self) -> int:
        return rules.units_of(y=self.y, statistic=self.statistic)

    def pred(self, submission: Submission) -> np.ndarray:
        """The public rows of ``submission``'s stored predictions (kept for the refresh)."""
        name = submission.predictions.name
        if name not in self._preds:
            with submission.predictions.open("rb") as handle:
                pred = load_pred(handle.read())
            solution = self._solution
            if pred.shape != np.shape(solution.is_public):
                raise ValueError(f"the predictions of submission #{submission.pk} do not fit")
            self._preds[name] = np.take(pred, solution.public_rows)
        return self._preds[name]

    def resamples(self, preds: list[np.ndarray]) -> np.ndarray:
        _, _, samples = statistic_resamples(
            y=self.y,
            preds=preds,
            statistic=self.statistic,
            kind=self.task.kind,
            n_resamples=self.task.ladder_bootstraps,
            seed=rules.SEED,
        )
        return samples


def _key(
    task: Task,
    mode: str,
    new: SubmissionInput,
    leader: SubmissionInput | None,
    files: dict[int, str],
) -> str:
    """What a decision is made on: its inputs, so that a change of any decides it again
    (``files``: each submission's stored predictions, by id)."""
    if mode == board_modes.PLAIN:
        own, theirs = repr(new.public_score), repr(leader.public_score) if leader else "-"
    else:
        own, theirs = files[new.id], files[leader.id] if leader else "-"
    settings = ""
    if mode == board_modes.LADDER_BOOTSTRAP:
        settings = f"|b{task.ladder_bootstraps}|k{task.ladder_bayes_factor!r}"
    inputs = f"{mode}|v{task.data_version}{settings}|{own}|{leader.id if leader else '-'}:{theirs}"
    return hashlib.sha256(inputs.encode()).hexdigest()


def _decide(
    task: Task,
    mode: str,
    public: _Public | None,
    new: Submission,
    leader: Submission | None,
) -> rules.Decision:
    """One entry weighed against ``leader`` (None: the team's first) under ``mode``."""
    higher = metric_info(task.primary_metric).higher_is_better
    sign = 1.0 if higher else -1.0
    if mode == board_modes.PLAIN or public is None:
        beats = leader is None or sign * (new.public_score - leader.public_score) > 0
        shown = new.public_score if beats else None
        return rules.Decision(climbed=beats, shown_score=shown, units=0)
    if mode in board_modes.ROUNDED:
        if leader is None:
            return rules.first_decision(mode=mode, exact=new.public_score, units=public.units)
        delta, influence = rules.paired_linearization(
            y=public.y,
            new=public.pred(new),
            old=public.pred(leader),
            statistic=public.statistic,
            sign=sign,
        )
        if mode == board_modes.LADDER_STEP:
            # The team's shown score: its leader's exact score on the grid (every climb of
            # this mode shows it), so the step's key, naming the leader, names it too.
            return rules.step_decision(
                delta=delta,
                influence=influence,
                exact=new.public_score,
                shown=rules.rounded(leader.public_score, public.units),
                sign=sign,
                units=public.units,
            )
        return rules.ladder_decision(
            delta=delta,
            influence=influence,
            exact_gain=sign * (new.public_score - leader.public_score),
            exact=new.public_score,
            units=public.units,
        )
    if leader is None:
        samples = public.resamples([public.pred(new)])
        return rules.first_decision(
            mode=mode, exact=new.public_score, units=public.units,
            report=rules.bootstrap_report(samples[:, 0]),
        )  # fmt: skip
    samples = public.resamples([public.pred(new), public.pred(leader)])
    return rules.bootstrap_decision(
        new=samples[:, 0],
        old=samples[:, 1],
        higher_is_better=higher,
        threshold=task.ladder_bayes_factor,
        units=public.units,
    )


def _step_fields(decision: rules.Decision, shown: float | None) -> dict[str, Any]:
    return {
        "climbed": decision.climbed,
        "shown_score": shown,
        "units": decision.units,
        "difference": _finite(decision.difference),
        "standard_error": _finite(decision.standard_error),
        "bayes_factor": _finite(decision.bayes_factor),
        "wins": decision.wins,
        "bootstraps": decision.bootstraps,
    }


def _finite(value: float | None) -> float | None:
    """A figure the database keeps (an infinite Bayes factor, no loss at all: None)."""
    return None if value is None or not np.isfinite(value) else float(value)


@dataclass(frozen=True)
class _Stored:
    """What a refresh reads of a stored step: plain values, not a model instance (a team's
    whole history is read at every refresh of its board; building a ``LadderStep`` and a
    ``Submission`` per entry was most of the ladder's time in a 200-upload attack)."""

    pk: int | None
    key: str
    mode: str
    climbed: bool
    shown_score: float | None


_STORED_FIELDS = ("submission_id", "pk", "key", "mode", "climbed", "shown_score")


def ladder_leaders(
    *,
    task: Task,
    mode: str,
    inputs: Iterable[SubmissionInput],
    files: dict[int, str],
    teams: set[int] | None = None,
) -> dict[Any, Leader]:
    """Each team's leader among ``inputs`` (the ranked submissions of ``teams``, None:
    every team of the task; ``files``: their stored predictions' names) under ``mode``
    (:func:`task_board_mode`), its steps brought up to date on the way (see the module
    docstring). The baseline team is not laddered: its best exact score stands."""
    by_team: dict[Any, list[SubmissionInput]] = {}
    for s in inputs:
        if s.public_score is not None and not np.isnan(s.public_score):
            by_team.setdefault(s.team_id, []).append(s)
    found = LadderStep.objects.filter(task=task)
    if teams is not None:
        found = found.filter(team_id__in=teams)
    steps = {row[0]: _Stored(*row[1:]) for row in found.order_by().values_list(*_STORED_FIELDS)}
    if not by_team and not steps:
        return {}
    statistic = ladder_statistic(task=task) if mode != board_modes.PLAIN else None
    public = _Public(task, statistic) if statistic is not None else None
    leaders: dict[Any, Leader] = {}
    writes: list[LadderStep] = []
    for team_id, group in by_team.items():
        group.sort(key=lambda s: (s.submitted_at, s.id))
        team_mode = board_modes.PLAIN if group[0].is_baseline else mode
        leader = _team_ladder(task, team_mode, public, group, files, steps, writes)
        if leader is not None:
            leaders[team_id] = leader
    _save(task, by_team, steps, writes)
    return leaders


def public_board_entries(
    *,
    task: Task,
    inputs: list[SubmissionInput],
    files: dict[int, str],
    teams: set[int] | None = None,
) -> list[EntryInput]:
    """The public board's entries of ``inputs``' teams (:func:`public_board`, without its
    mode)."""
    return public_board(task=task, inputs=inputs, files=files, teams=teams)[1]


def public_board(
    *,
    task: Task,
    inputs: list[SubmissionInput],
    files: dict[int, str],
    teams: set[int] | None = None,
) -> tuple[str, list[EntryInput]]:
    """The public board's mode (:func:`task_board_mode`) and its entries of ``inputs``'
    teams: on a plain board each team's best submission; under a ladder mode its leader with
    its shown score (every entry's step decided on the way; :func:`ladder_leaders`). One
    rule for the live board (``leaderboard.stored_board``) and the frozen one
    (``standings``)."""
    mode = task_board_mode(task=task)
    leaders = ladder_leaders(task=task, mode=mode, inputs=inputs, files=files, teams=teams)
    if mode == board_modes.PLAIN:
        return mode, select_team_best(inputs, split="public")
    return mode, [
        EntryInput(
            team_id=team_id,
            is_baseline=leader.submission.is_baseline,
            score=leader.shown_score,
            submitted_at=leader.submission.submitted_at,
            payload=leader.submission,
            higher_is_better=leader.submission.higher_is_better,
        )
        for team_id, leader in leaders.items()
    ]


def _decided(item: SubmissionInput, files: dict[int, str]) -> Submission:
    """What a decision reads of ``item``, as the refresh read it (no second query)."""
    return Submission(
        pk=item.id, team_id=item.team_id, public_score=item.public_score, predictions=files[item.id]
    )


def _team_ladder(
    task: Task,
    mode: str,
    public: _Public | None,
    group: list[SubmissionInput],
    files: dict[int, str],
    steps: dict[int, _Stored],
    writes: list[LadderStep],
) -> Leader | None:
    """One team's steps in order, decided again where their key changed; its leader."""
    leader: SubmissionInput | None = None
    shown: float | None = None
    for item in group:
        key = _key(task, mode, item, leader, files)
        step = steps.get(item.id)
        if step is None or step.key != key or step.mode != mode:
            try:
                decision = _decide(
                    task, mode, public, _decided(item, files),
                    _decided(leader, files) if leader is not None else None,
                )  # fmt: skip
            except (OSError, ValueError):
                # An unreadable file: the entry cannot be weighed; it stays off the ladder
                # (logged), and is weighed again at the next refresh.
                logger.exception("ladder: submission %s of task %s not weighed", item.id, task.pk)
                continue
            after = decision.shown_score if decision.climbed else shown
            pk = step.pk if step is not None else None
            writes.append(
                LadderStep(
                    pk=pk, submission_id=item.id, task=task, team_id=item.team_id, mode=mode,
                    key=key, leader_id=leader.id if leader is not None else None,
                    **_step_fields(decision, after),
                )
            )  # fmt: skip
            step = _Stored(pk, key, mode, decision.climbed, after)
            steps[item.id] = step
        if step.climbed:
            leader, shown = item, step.shown_score
    if leader is None or shown is None:
        return None
    return Leader(submission=leader, shown_score=shown)


def _save(
    task: Task,
    by_team: dict[Any, list[SubmissionInput]],
    steps: dict[int, _Stored],
    writes: list[LadderStep],
) -> None:
    """Write the decided steps and drop those of entries no longer ranked (hidden, failed
    on a re-score, or made after the end) of the teams refreshed."""
    ranked = {s.id for group in by_team.values() for s in group}
    gone = [pk for pk, step in steps.items() if pk not in ranked and step.pk is not None]
    if gone:
        LadderStep.objects.filter(task=task, submission_id__in=gone).delete()
    fresh = [step for step in writes if step.pk is None]
    changed = [step for step in writes if step.pk is not None]
    if fresh:
        LadderStep.objects.bulk_create(fresh)
    if changed:
        LadderStep.objects.bulk_update(
            changed,
            [
                "mode", "key", "leader", "climbed", "shown_score", "units", "difference",
                "standard_error", "bayes_factor", "wins", "bootstraps",
            ],
        )  # fmt: skip


# --- the organizers' setting -----------------------------------------------------------------


class BoardModeRefused(ValueError):
    """A board mode (or its settings) that the task cannot run, in words."""
