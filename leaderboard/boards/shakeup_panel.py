"""The shake-up panel of a task (the organizers' shake-up page, docs/organizers/ladder.md): each
team's public and private rank, the shake-up sampling alone would give under the board's mode, the
entries each team made since its last accepted climb, and, once the private split is revealed, how
far its public scores moved against its private ones (its adaptivity)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from challenges.models import Team
from common import board_modes
from datasets.models import Task
from kinds import metric_info
from leaderboard.boards.ladder import ladder_statistic, task_board_mode
from leaderboard.core import ladder as rules
from leaderboard.core.bootstrap import statistic_resamples
from leaderboard.core.shakeup import ShakeupRow, adaptivity, expected_shakeup, shakeup
from leaderboard.models import LadderStep, LeaderboardEntry, Split
from scoring.core.predictions import load_pred
from scoring.models import Submission
from scoring.solutions import solution_for_task

logger = logging.getLogger(__name__)

RESAMPLES = 200  # resamples of each split behind the expected shake-up
_SEEDS = {"public": 0, "private": 1}  # the two splits are independent draws


@dataclass(frozen=True)
class ShakeupTeam:
    row: ShakeupRow
    team: Team
    since_climb: int | None  # entries after the team's last climb (None: none weighed)
    expected: float | None  # the mean |rank change| sampling alone gives this team
    adaptivity: float | None  # None before the reveal


@dataclass(frozen=True)
class ShakeupPanel:
    mode: str
    rows: list[ShakeupTeam]
    observed: float | None  # the mean |rank change| of the teams on both boards
    expected: float | None
    expected_reason: str | None  # why there is no expected shake-up
    revealed: bool


def shakeup_panel(*, task: Task, revealed: bool) -> ShakeupPanel:
    """The panel of ``task``; ``revealed``: whether the adaptivity may be shown."""
    entries = list(LeaderboardEntry.objects.filter(task=task).select_related("team"))
    teams = {e.team_id: e.team for e in entries}
    public = {e.team_id: e.rank for e in entries if e.split == Split.PUBLIC and not e.is_baseline}
    private = {e.team_id: e.rank for e in entries if e.split == Split.PRIVATE and not e.is_baseline}
    rows = shakeup(public, private)
    both = [r for r in rows if r.delta is not None]
    ranked_private = [e for e in entries if e.split == Split.PRIVATE and e.rank is not None]
    expected, reason = _expected(task, ranked_private)
    leaders = {e.team_id: e.submission_id for e in entries if e.split == Split.PUBLIC}
    since = _since_climb(task)
    moved = _adaptivity(task, leaders) if revealed else {}
    return ShakeupPanel(
        mode=task_board_mode(task=task),
        rows=[
            ShakeupTeam(
                row=r,
                team=teams[r.team_id],
                since_climb=since.get(r.team_id),
                expected=(expected or {}).get(r.team_id),
                adaptivity=moved.get(r.team_id),
            )
            for r in rows
        ],
        observed=float(np.mean([abs(r.delta) for r in both])) if both else None,
        expected=float(np.mean(list(expected.values()))) if expected else None,
        expected_reason=reason,
        revealed=revealed,
    )


def _since_climb(task: Task) -> dict[int, int]:
    """Per team, its entries weighed after its last climb (the board's current steps)."""
    out: dict[int, int] = {}
    steps = LadderStep.objects.filter(task=task, mode=task_board_mode(task=task)).order_by(
        "submission__created_at", "submission_id"
    )
    for team_id, climbed in steps.values_list("team_id", "climbed"):
        out[team_id] = 0 if climbed else out.get(team_id, 0) + 1
    return out


def _adaptivity(task: Task, leaders: dict[int, int]) -> dict[int, float]:
    """Per team: its public gain minus its private gain from its first scored entry to the
    one its public board shows (exact scores: after the reveal only)."""
    higher = metric_info(task.primary_metric).higher_is_better
    found = Submission.objects.filter(
        task=task, status="scored", is_hidden=False, team_id__in=list(leaders)
    ).order_by("created_at", "pk")
    first: dict[int, tuple[float, float]] = {}
    scores: dict[int, tuple[float, float]] = {}
    for pk, team_id, public, private in found.values_list(
        "pk", "team_id", "public_score", "private_score"
    ):
        if public is None or private is None:
            continue
        first.setdefault(team_id, (public, private))
        scores[pk] = (public, private)
    return {
        team_id: adaptivity(first=first[team_id], leader=scores[pk], higher_is_better=higher)
        for team_id, pk in leaders.items()
        if team_id in first and pk in scores
    }


def _expected(
    task: Task, entries: list[LeaderboardEntry]
) -> tuple[dict[int, float] | None, str | None]:
    """Each ranked team's expected |rank change|: its private board's entry scored on
    resamples of the public rows (shown as the mode shows them) and of the private rows."""
    if len(entries) < 2:
        return None, "fewer than two ranked teams"
    statistic = ladder_statistic(task=task)
    if statistic is None:
        return None, f"no resampling statistic for {task.primary_metric}"
    submissions = Submission.objects.in_bulk([e.submission_id for e in entries])
    try:
        preds = []
        for e in entries:
            with submissions[e.submission_id].predictions.open("rb") as handle:
                preds.append(load_pred(handle.read()))
        solution = solution_for_task(task=task)
    except (OSError, ValueError, KeyError):
        logger.warning("shake-up of %s: predictions unreadable", task.slug, exc_info=True)
        return None, "a prediction file could not be read"
    y = np.asarray(solution.y)
    public = np.asarray(solution.is_public, dtype=bool)
    samples = {}
    for split, rows in (("public", public), ("private", ~public)):
        _, _, samples[split] = statistic_resamples(
            y=y, preds=preds, statistic=statistic, kind=task.kind,
            n_resamples=RESAMPLES, seed=_SEEDS[split], rows=rows,
        )  # fmt: skip
    shown = None
    if task_board_mode(task=task) in board_modes.ROUNDED:
        step = rules.resolution(rules.units_of(y=solution.y_public, statistic=statistic))
        shown = lambda scores: np.round(scores / step) * step  # noqa: E731 - the rounding
    primary = task.primary_metric
    centers = [
        ((submissions[e.submission_id].scores or {}).get("all") or {}).get(primary) for e in entries
    ]
    if any(c is None for c in centers):
        return None, "an entry has no score on all rows"
    result = expected_shakeup(
        public=samples["public"],
        private=samples["private"],
        centers=np.array(centers, dtype=float),
        higher_is_better=metric_info(task.primary_metric).higher_is_better,
        shown=shown,
    )
    return {e.team_id: v for e, v in zip(entries, result.per_team, strict=True)}, None
