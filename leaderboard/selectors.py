"""Reads for leaderboards: a constant number of queries whatever the number of submissions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db.models import Case, F, Q, When

from algorithms.selectors import board_runs_pending
from challenges.models import Team, Track
from common import board_modes
from common.svg import Series
from datasets.models import Task
from kinds import kind_get, metric_info
from leaderboard.core.flipboard import nfr_prize_eligible
from leaderboard.core.track import (
    RelativeMatrix,
    TrackRow,
    ranked_tasks,
    relative_to_baseline,
    track_standings,
)
from runtime.localredis import cache_unavailable_errors, cache_unavailable_suppressed
from scoring.models import Submission, SubmissionStatus
from scoring.selectors import submissions_pending

from .boards.ladder import task_board_mode
from .models import LeaderboardEntry, Split
from .stored_board import history_cache_key

HISTORY_TEAMS = 8


def leaderboard_for_task(*, task: Task, split: str = Split.PUBLIC) -> list[LeaderboardEntry]:
    return list(
        LeaderboardEntry.objects.filter(task=task, split=split)
        .select_related("team")
        .order_by("position")
    )


@dataclass(frozen=True)
class TrackBoard:
    track: Track
    tasks: list[Task]
    rows: list[TrackRow]
    teams: dict[int, Team]
    matrix: RelativeMatrix | None
    baseline_scores: dict[str, float | None]
    # Teams above the track's NFR limit for the prize on some task (shown, marked).
    prize_ineligible: frozenset[int] = frozenset()
    # Slugs of the tasks no team has an entry on yet: not in any mean (core.track).
    unranked: tuple[str, ...] = ()

    @property
    def ranked_tasks(self) -> list[Task]:
        """The tasks the track's means, P(first) and groups are over."""
        return [t for t in self.tasks if t.slug not in self.unranked]


def track_values_of(
    *, tasks: list[Task], split: str, entries: list[LeaderboardEntry]
) -> dict[str, dict[int, float | None]]:
    """What each entry adds to its track's mean (``TaskKind.track_value``), by task slug and
    team; the metrics a kind reads for it are fetched for its tasks only."""
    by_pk = {t.pk: t for t in tasks}
    readers = [t.pk for t in tasks if kind_get(t.kind).track_metrics]
    metrics_of = (
        dict(
            LeaderboardEntry.objects.filter(task_id__in=readers, split=split).values_list(
                "id", "metrics"
            )
        )
        if readers
        else {}
    )
    values: dict[str, dict[int, float | None]] = {t.slug: {} for t in tasks}
    for e in entries:
        task = by_pk[e.task_id]
        value = None
        if e.score is not None:
            # an entry ranked at read time (a phase's board) carries its metrics
            metrics = e.metrics if e.pk is None else metrics_of.get(e.id)
            value = kind_get(task.kind).track_value(task.primary_metric, e.score, metrics or {})
        values[task.slug][e.team_id] = value
    return values


def ladder_shifts(
    *,
    tasks: list[Task],
    split: str,
    entries: list[LeaderboardEntry],
    values: dict[str, dict[int, float | None]],
) -> dict[str, dict[int, float]]:
    """For the tasks whose public board is a ladder board (docs/organizers/ladder.md), each team's
    shown track value (``values``) minus the value of its entry's exact public score: what
    moves the team's resamples (drawn around the exact score) to the board's shown score
    (``leaderboard.statistics.first``). ``entries`` need their submissions."""
    if split != Split.PUBLIC:
        return {}
    laddered = {t.pk: t for t in tasks if task_board_mode(task=t) != board_modes.PLAIN}
    shifts: dict[str, dict[int, float]] = {}
    for e in entries:
        task = laddered.get(e.task_id)
        if task is None or e.is_baseline:
            continue
        shown = values.get(task.slug, {}).get(e.team_id)
        submission = e.submission
        exact = None
        if submission.public_score is not None:
            exact = kind_get(task.kind).track_value(
                task.primary_metric,
                submission.public_score,
                (submission.scores or {}).get(split) or {},
            )
        if shown is not None and exact is not None:
            shifts.setdefault(task.slug, {})[e.team_id] = shown - exact
    return shifts


def track_cells_pending(*, tasks: list[Task]) -> dict[str, dict[int, str]]:
    """Task slug -> team id -> ``"queued"`` or ``"running"``: the teams whose entry on the
    task is on its way (a submission being scored, a team's run or the AutoGluon baseline not
    yet final); running wins over queued. The track's mean leaves such a cell out and says
    the row is partial (``leaderboard.core.track``)."""
    slugs = {t.pk: t.slug for t in tasks}
    pending: dict[str, dict[int, str]] = {t.slug: {} for t in tasks}
    for source in (
        submissions_pending(task_ids=list(slugs)),
        board_runs_pending(task_ids=list(slugs)),
    ):
        for (task_id, team_id), state in source.items():
            cell = pending[slugs[task_id]]
            if cell.get(team_id) != "running":
                cell[team_id] = state
    return pending


def leaderboard_for_track(
    *, track: Track, split: str = Split.PUBLIC, entries: list[LeaderboardEntry] | None = None
) -> TrackBoard:
    """The track's board from its tasks' stored entries, or ``entries`` (a phase's boards
    ranked at read time: ``leaderboard.boards.phase_read``)."""
    tasks = list(track.tasks.order_by("order", "slug"))
    slugs = {t.pk: t.slug for t in tasks}
    # Not ``select_related("task")``: a task's JSON columns (columns, card, meta...) would be
    # decoded once per entry, most of an uncached track board's time at 300 teams.
    if entries is None:
        entries = list(
            LeaderboardEntry.objects.filter(task__in=tasks, split=split)
            .select_related("team")
            .defer("metrics")
        )
    directions = {t.slug: metric_info(t.primary_metric).higher_is_better for t in tasks}
    per_task: dict[str, dict[int, float | None]] = {t.slug: {} for t in tasks}
    task_ranks: dict[str, dict[int, int | None]] = {t.slug: {} for t in tasks}
    teams: dict[int, Team] = {}
    tie_break: dict[int, datetime] = {}
    baseline_scores: dict[str, float | None] = {t.slug: None for t in tasks}
    nfrs: dict[int, list[float | None]] = {}
    for e in entries:
        slug = slugs[e.task_id]
        per_task[slug][e.team_id] = e.score
        task_ranks[slug][e.team_id] = e.rank
        teams[e.team_id] = e.team
        tie_break[e.team_id] = max(
            tie_break.get(e.team_id, e.best_submitted_at), e.best_submitted_at
        )
        if e.is_baseline:
            baseline_scores[slug] = e.score
        nfrs.setdefault(e.team_id, []).append(e.nfr)
    if not tasks:
        return TrackBoard(track, tasks, [], teams, None, baseline_scores)
    baseline_ids = {tid for tid, team in teams.items() if team.is_baseline}
    rows = track_standings(
        [t.slug for t in tasks],
        per_task,
        baseline_ids,
        tie_break_at=tie_break,
        task_ranks=task_ranks,
        values=track_values_of(tasks=tasks, split=split, entries=entries),
        higher_is_better=directions,
        pending=track_cells_pending(tasks=tasks),
    )
    matrix = relative_to_baseline(
        per_task,
        baseline_scores,
        task_slugs=[t.slug for t in tasks],
        team_ids=[r.team_id for r in rows if not r.is_baseline],
        higher_is_better=directions,
    )
    ineligible = frozenset(
        tid
        for tid, values in nfrs.items()
        if not teams[tid].is_baseline and not nfr_prize_eligible(values, track.prize_max_nfr)
    )
    ranked = set(ranked_tasks([t.slug for t in tasks], per_task, baseline_ids))
    unranked = tuple(t.slug for t in tasks if t.slug not in ranked) if ranked else ()
    return TrackBoard(track, tasks, rows, teams, matrix, baseline_scores, ineligible, unranked)


def history_series(*, task: Task) -> list[Series]:
    """Best public score over time of the top teams and the baseline (cached per task)."""
    key = history_cache_key(task_id=task.pk)
    try:
        cached = cache.get(key)
    except cache_unavailable_errors():
        cached = None
    if cached is not None:
        return [
            Series(name, is_baseline, [(datetime.fromisoformat(t), v) for t, v in points])
            for name, is_baseline, points in cached
        ]
    top = list(
        LeaderboardEntry.objects.filter(task=task, split=Split.PUBLIC)
        .select_related("team")
        .order_by("position")[: HISTORY_TEAMS + 1]
    )
    team_ids = [e.team_id for e in top]
    points: dict[int, list[tuple[datetime, float]]] = {tid: [] for tid in team_ids}
    found = Submission.objects.filter(
        task=task, team_id__in=team_ids, status=SubmissionStatus.SCORED, is_hidden=False
    ).order_by("created_at")
    if task_board_mode(task=task) == board_modes.PLAIN:
        values = found.values_list("team_id", "created_at", "public_score")
    else:
        # A ladder board's history is its shown scores: each climb, never an exact score
        # (docs/organizers/ladder.md). The baseline team's entries are not laddered.
        values = found.filter(Q(team__is_baseline=True) | Q(ladder_step__climbed=True)).values_list(
            "team_id",
            "created_at",
            Case(
                When(team__is_baseline=True, then=F("public_score")),
                default=F("ladder_step__shown_score"),
            ),
        )
    for team_id, created_at, score in values:
        if score is not None:
            points[team_id].append((created_at, score))
    series = [
        Series(e.team.name, e.is_baseline, points[e.team_id]) for e in top if points[e.team_id]
    ]
    with cache_unavailable_suppressed:
        cache.set(
            key,
            [(s.name, s.is_baseline, [(t.isoformat(), v) for t, v in s.points]) for s in series],
            timeout=3600,
        )
    return series
