"""Track standings and the cross-task matrix relative to the baseline.

A track ranks teams by the mean over **all** the track's *ranked* tasks of each task's
*track value*: a task the team has no score on counts 0 and is listed in ``missing`` (prizes
go to the best average, so skipping a task must not pay). A task whose entry is still on its
way (``pending``: the team's submission or run there is queued, or running) is neither: it
is left out of the team's mean until it lands, its cell says ``queued`` or ``running``, and
the row is ``partial`` (a queued baseline is not a baseline that scored 0). A task no
(non-baseline) team has a score on yet is not ranked (`ranked_tasks`): it would lower every
mean by the same factor and say nothing about anyone (a task added late, that nobody has
entered). Higher is better. A task's track value is its board score when that is a
higher-is-better number in [0, 1] (accuracy, F1, pairwise F1); a kind whose primary metric
is not (regression's RMSE: lower is better, in the label's units) says how its score counts
(``TaskKind.track_value``: R² clipped to [0, 1]), so a track may mix kinds and directions
(docs/decisions/0018-metric-direction-and-mixed-tracks.md). The caller passes the values
(``values``); without them the scores are the values.

Track order: best mean first; equal means are broken by the team's tie-break timestamp (the
latest contributing submission: whoever completed its scores earlier ranks higher); teams
without a timestamp come after those with one; remaining ties by ``str(team_id)`` so the
order never depends on dictionary order. Ranks are distinct; baseline teams keep their place
with ``rank=None`` and do not consume a rank number (as in `ranking.rank_entries`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from leaderboard.core.ranking import TeamId, is_scored


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackRow:
    """One team's line in a track's standings."""

    position: int
    rank: int | None
    team_id: TeamId
    is_baseline: bool
    mean_score: float  # the mean of the tasks' track values
    task_scores: Mapping[str, float | None]  # by task slug; None: no score (counted as 0)
    task_ranks: Mapping[str, int | None]  # the team's rank on each task board
    missing: tuple[str, ...]  # task slugs without a score, in track order
    # Each task's cell: "scored", "missing" (counts 0), or "queued" / "running" (``pending``:
    # its entry is on its way, left out of the mean); by task slug, in track order.
    cells: Mapping[str, str] = field(default_factory=dict)
    partial: bool = False  # a ranked task is pending: the mean is over the others only


@dataclass(frozen=True, slots=True, kw_only=True)
class RelativeCell:
    """A team's score on one task next to the baseline's."""

    score: float
    baseline: float
    delta: float  # how much better than the baseline: score - baseline, or the reverse
    # for a lower-is-better metric (positive: beats the baseline)
    ratio: float | None  # score / baseline; None when the baseline scored 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RelativeMatrix:
    """Teams x tasks; a cell is None when the team or the baseline has no score there."""

    task_slugs: tuple[str, ...]
    team_ids: tuple[TeamId, ...]
    cells: Mapping[TeamId, Mapping[str, RelativeCell | None]]

    def cell(self, team_id: TeamId, task_slug: str) -> RelativeCell | None:
        """The cell for ``team_id`` on ``task_slug`` (None when missing)."""
        return self.cells.get(team_id, {}).get(task_slug)


def _competition_ranks(
    scores: Mapping[TeamId, float | None],
    baseline_team_ids: Collection[TeamId],
    higher_is_better: bool = True,
) -> dict[TeamId, int | None]:
    """1 + number of non-baseline teams strictly better; baselines and unscored: None."""
    sign = 1.0 if higher_is_better else -1.0
    ranked = [sign * s for t, s in scores.items() if is_scored(s) and t not in baseline_team_ids]  # type: ignore[operator]
    out: dict[TeamId, int | None] = {}
    for team_id, score in scores.items():
        if team_id in baseline_team_ids or not is_scored(score):
            out[team_id] = None
            continue
        assert score is not None
        better = sum(1 for other in ranked if other > sign * score)
        out[team_id] = better + 1
    return out


def ranked_tasks(
    task_slugs: Sequence[str],
    per_task: Mapping[str, Mapping[TeamId, float | None]],
    baseline_team_ids: Collection[TeamId],
) -> list[str]:
    """The tasks a track ranks on, in track order: those with a score of a non-baseline
    team (a task only the baseline has run, or nobody, is left out of every mean)."""
    baselines = set(baseline_team_ids)
    return [
        slug
        for slug in task_slugs
        if any(is_scored(v) and t not in baselines for t, v in per_task.get(slug, {}).items())
    ]


def track_standings(
    task_slugs: Sequence[str],
    per_task: Mapping[str, Mapping[TeamId, float | None]],
    baseline_team_ids: Collection[TeamId],
    *,
    tie_break_at: Mapping[TeamId, datetime] | None = None,
    task_ranks: Mapping[str, Mapping[TeamId, int | None]] | None = None,
    values: Mapping[str, Mapping[TeamId, float | None]] | None = None,
    higher_is_better: Mapping[str, bool] | None = None,
    pending: Mapping[str, Mapping[TeamId, str]] | None = None,
) -> list[TrackRow]:
    """Standings of a track: mean track value over the ranked tasks of ``task_slugs``
    (`ranked_tasks`; missing counts 0; with none ranked, over all of them).

    ``pending[slug][team_id]`` (``"queued"`` or ``"running"``) marks a task where the team has
    no score yet and an entry on its way: left out of its mean, the row ``partial``.

    ``per_task[slug][team_id]`` is the team's primary score on that task board (tasks of
    ``per_task`` outside ``task_slugs`` are ignored); ``values[slug][team_id]`` what it adds
    to the mean (default: the score; see the module docstring). ``task_ranks`` gives the
    ranks shown on the task boards (pass them so both pages agree); without it a task rank
    is 1 + the number of non-baseline teams with a strictly better score, better as
    ``higher_is_better[slug]`` says (default higher). See the module docstring for the
    order.
    """
    if not task_slugs:
        raise ValueError("a track needs at least one task")
    if len(set(task_slugs)) != len(task_slugs):
        raise ValueError("task slugs must be distinct")
    baselines = set(baseline_team_ids)
    tie_break_at = tie_break_at or {}
    ranks_per_task = {
        slug: dict(task_ranks[slug])
        if task_ranks is not None and slug in task_ranks
        else _competition_ranks(
            per_task.get(slug, {}), baselines, (higher_is_better or {}).get(slug, True)
        )
        for slug in task_slugs
    }
    counted = set(ranked_tasks(task_slugs, per_task, baselines) or task_slugs)
    rows = [
        _team_row(
            team_id,
            task_slugs,
            counted,
            per_task,
            values,
            ranks_per_task,
            baselines,
            {slug: (pending or {}).get(slug, {}).get(team_id) for slug in task_slugs},
        )
        for team_id in _scored_teams(task_slugs, per_task)
    ]
    rows.sort(key=lambda row: _track_order(row, tie_break_at.get(row.team_id)))
    return _numbered(rows)


def _scored_teams(
    task_slugs: Sequence[str], per_task: Mapping[str, Mapping[TeamId, float | None]]
) -> list[TeamId]:
    """The teams with a score on at least one of the tasks, in first-seen order."""
    teams: dict[TeamId, None] = {}
    for slug in task_slugs:
        for team_id, score in per_task.get(slug, {}).items():
            if is_scored(score):
                teams.setdefault(team_id, None)
    return list(teams)


def _team_row(
    team_id: TeamId,
    task_slugs: Sequence[str],
    ranked: Collection[str],
    per_task: Mapping[str, Mapping[TeamId, float | None]],
    values: Mapping[str, Mapping[TeamId, float | None]] | None,
    ranks_per_task: Mapping[str, Mapping[TeamId, int | None]],
    baselines: Collection[TeamId],
    pending: Mapping[str, str | None],
) -> TrackRow:
    """One team's row, not yet placed: its scores, cells, missing tasks and mean track value
    over the ``ranked`` tasks but those pending (``pending[slug]``: the team's entry there is
    queued or running)."""
    scores: dict[str, float | None] = {}
    cells: dict[str, str] = {}
    for slug in task_slugs:
        value = per_task.get(slug, {}).get(team_id)
        scores[slug] = value if is_scored(value) else None
        cells[slug] = "scored" if scores[slug] is not None else (pending.get(slug) or "missing")
    waiting = [slug for slug in ranked if cells[slug] not in ("scored", "missing")]
    counted = [
        scores[slug] if values is None else (values.get(slug) or {}).get(team_id)
        for slug in task_slugs
        if scores[slug] is not None and slug in ranked
    ]
    over = len(ranked) - len(waiting)
    total = math.fsum(v for v in counted if v is not None and is_scored(v))
    return TrackRow(
        position=0,
        rank=None,
        team_id=team_id,
        is_baseline=team_id in baselines,
        mean_score=total / over if over else 0.0,
        task_scores=scores,
        task_ranks={slug: ranks_per_task[slug].get(team_id) for slug in task_slugs},
        missing=tuple(slug for slug in task_slugs if cells[slug] == "missing" and slug in ranked),
        cells=cells,
        partial=bool(waiting),
    )


def _track_order(
    row: TrackRow, at: datetime | None
) -> tuple[float, tuple[int] | tuple[int, datetime], str]:
    """The sort key of the module docstring's order: best mean, then the earlier tie-break
    time ((0, at) sorts before (1,): a missing timestamp is never compared with a
    datetime), then ``str(team_id)``."""
    at_key: tuple[int] | tuple[int, datetime] = (1,) if at is None else (0, at)
    return (-row.mean_score, at_key, str(row.team_id))


def _numbered(rows: list[TrackRow]) -> list[TrackRow]:
    """Positions for every row in order; distinct ranks for the teams but the baselines."""
    standings: list[TrackRow] = []
    next_rank = 1
    for position, row in enumerate(rows, start=1):
        rank: int | None = None
        if not row.is_baseline:
            rank = next_rank
            next_rank += 1
        standings.append(replace(row, position=position, rank=rank))
    return standings


def relative_to_baseline(
    per_task: Mapping[str, Mapping[TeamId, float | None]],
    baseline_scores: Mapping[str, float | None],
    *,
    task_slugs: Sequence[str] | None = None,
    team_ids: Sequence[TeamId] | None = None,
    higher_is_better: Mapping[str, bool] | None = None,
) -> RelativeMatrix:
    """The cross-task matrix: for each team and task, how much better than the baseline
    (``delta``: score - baseline, the reverse where ``higher_is_better[slug]`` is False) and
    score / baseline.

    ``baseline_scores[slug]`` is the baseline's primary score on the task. Tasks default to
    the keys of ``per_task`` and teams to every team with a score, in first-seen order.
    """
    slugs = tuple(task_slugs) if task_slugs is not None else tuple(per_task)
    if team_ids is None:
        seen: dict[TeamId, None] = {}
        for slug in slugs:
            for team_id, score in per_task.get(slug, {}).items():
                if is_scored(score):
                    seen.setdefault(team_id, None)
        teams = tuple(seen)
    else:
        teams = tuple(team_ids)

    cells: dict[TeamId, dict[str, RelativeCell | None]] = {}
    for team_id in teams:
        row: dict[str, RelativeCell | None] = {}
        for slug in slugs:
            score = per_task.get(slug, {}).get(team_id)
            base = baseline_scores.get(slug)
            if score is None or base is None or not is_scored(score) or not is_scored(base):
                row[slug] = None
                continue
            row[slug] = RelativeCell(
                score=score,
                baseline=base,
                delta=(score - base) * (1 if (higher_is_better or {}).get(slug, True) else -1),
                ratio=score / base if base != 0 else None,
            )
        cells[team_id] = row
    return RelativeMatrix(task_slugs=slugs, team_ids=teams, cells=cells)
