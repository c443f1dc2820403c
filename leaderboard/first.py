"""Who is first, with what probability: a track's standings resampled (issue 26, DESIGN §12).

Each team's ``p_first``, ``rank_interval`` and ``group`` come from
:func:`leaderboard.core.benchmark.first.who_is_first` over resamples of rows within tasks and
tasks within the track. A task's row resamples are the leaderboard's paired bootstrap of the
submissions its board ranks (the same seed and rows as the task board's intervals), on what
the task adds to the track's mean (``TaskKind.track_value``: R² clipped to [0, 1] for a
regression task, whatever its primary metric), so the resampled means are the track mean's.

A task's resamples are cached by the ids of the prediction files they read (a new best
submission is a new key; :mod:`leaderboard.first_samples`, warmed by the bootstrap job); a
track's result is cached with its board (``board_cache``: the
refresh and bootstrap of any of its tasks bump the track's version). The caller passes the
split it may show: before the reveal only the public split is computed for participants,
so a private-based value never reaches them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from challenge_platform.models import Track
from datasets.models import Task
from leaderboard.core.benchmark.first import TrackTaskScores, who_is_first
from scoring.models import Submission

from . import board_cache
from .boards import track_board_cached
from .first_samples import N_RESAMPLES, task_samples
from .models import LeaderboardEntry
from .selectors import track_values_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TeamFirst:
    """One ranked team's P(first), rank interval and group on a track's board."""

    p_first: float
    rank_interval: tuple[int, int]
    group: int


FIRST_CSV_COLUMNS = ("p_first", "rank_interval_low", "rank_interval_high", "group")


def first_csv_values(first: TeamFirst | None) -> tuple[object, ...]:
    """The :data:`FIRST_CSV_COLUMNS` of one team (empty cells for a baseline or a reference)."""
    if first is None:
        return (None, None, None, None)
    return (first.p_first, *first.rank_interval, first.group)


def first_fields(first: TeamFirst | None) -> dict[str, object]:
    """A standings entry's ``p_first``, ``rank_interval`` [lo, hi] and ``group`` (nulls for
    a baseline, or when they could not be computed)."""
    if first is None:
        return {"p_first": None, "rank_interval": None, "group": None}
    return {
        "p_first": first.p_first,
        "rank_interval": [first.rank_interval[0], first.rank_interval[1]],
        "group": first.group,
    }


def first_compute(
    *,
    tasks: Sequence[Task],
    split: str,
    teams: Sequence[int],
    baselines: set[int],
    values: Mapping[str, Mapping[int, float | None]],
    submissions: Mapping[str, Mapping[int, Submission]],
    alpha: float = 0.05,
) -> dict[int, TeamFirst]:
    """P(first), rank interval and group of each ranked team of ``teams`` (board order).

    ``values[task slug][team id]`` is what the team's board score adds to the track's mean
    (the points resampled around), ``submissions[task slug][team id]`` the submission its
    board ranks (whose predictions are resampled; a task whose files cannot be read counts
    its point values in every resample, logged). Baselines are references: no values.
    ``alpha`` is 1 - the challenge's confidence level (``Challenge.alpha``). Empty when there
    is no ranked team.
    """
    team_list = list(teams)
    if not tasks or not any(t not in baselines for t in team_list):
        return {}
    per_task: list[TrackTaskScores] = []
    for task in tasks:
        point = np.zeros(len(team_list))
        scored = np.zeros(len(team_list), dtype=bool)
        for i, team in enumerate(team_list):
            value = (values.get(task.slug) or {}).get(team)
            if value is not None and np.isfinite(value):
                point[i], scored[i] = float(value), True
        try:
            samples = task_samples(task, split, submissions.get(task.slug) or {})
        except Exception:  # an unreadable file must not take the board down
            logger.exception("P(first): the resamples of task %s (%s) failed", task.slug, split)
            samples = None  # the task then counts its point values in every resample
        drawn = np.repeat(point[None, :], N_RESAMPLES, axis=0)
        if samples is not None:
            for i, team in enumerate(team_list):
                if scored[i] and team in samples:
                    drawn[:, i] = samples[team]
        per_task.append(
            TrackTaskScores(task=task.slug, point=point, resamples=drawn, scored=scored)
        )
    try:
        result = who_is_first(
            teams=team_list,
            tasks=per_task,
            references=[t for t in team_list if t in baselines],
            alpha=alpha,
            seed=0,
        )
    except ValueError:  # inputs the core refuses: no column rather than no board or freeze
        logger.exception("P(first) of track %s (%s) was refused", tasks[0].track_id, split)
        return {}
    return {
        e.team: TeamFirst(p_first=e.p_first, rank_interval=e.rank_interval, group=e.group)
        for e in result.entries
        if e.p_first is not None and e.rank_interval is not None and e.group is not None
    }


def track_first(*, track: Track, split: str) -> dict[int, TeamFirst]:
    """:func:`first_compute` for ``track``'s live board on ``split``, cached with the board.
    The caller has checked that ``split`` may be shown."""
    alpha = track.challenge.alpha
    return board_cache.cached(
        board_cache.TRACK,
        track.pk,
        "first",
        split,
        f"alpha={alpha!r}",  # the organizer may change the confidence level at any time
        compute=lambda: _track_first(track, split, alpha),
    )


def _track_first(track: Track, split: str, alpha: float) -> dict[int, TeamFirst]:
    board = track_board_cached(track=track, split=split)
    if not board.tasks:
        return {}
    entries = list(
        LeaderboardEntry.objects.filter(task__in=board.tasks, split=split).select_related(
            "submission"
        )
    )
    slugs = {t.pk: t.slug for t in board.tasks}
    submissions: dict[str, dict[int, Submission]] = {t.slug: {} for t in board.tasks}
    for entry in entries:
        submissions[slugs[entry.task_id]][entry.team_id] = entry.submission
    return first_compute(
        tasks=board.tasks,
        split=split,
        teams=[row.team_id for row in board.rows],
        baselines={row.team_id for row in board.rows if row.is_baseline},
        values=track_values_of(board.tasks, split, entries),
        submissions=submissions,
        alpha=alpha,
    )
