"""Who is first, with what probability: a track's standings resampled (issue 26,
docs/architecture.md §12).

Each team's ``p_first``, ``rank_interval`` and ``group``, and the board's ``pairwise``
verdicts, come from :func:`leaderboard.core.benchmark.first.who_is_first`: P(first) over
resamples of rows within tasks and tasks within the track, the rest from an interval for
every pair of track means from that pair's own paired differences, Bonferroni-adjusted so
that all hold at once (issues 38 and 50; docs/developers/benchmark-statistics.md §2). A task's row
resamples are the leaderboard's paired bootstrap of the submissions its board ranks (the
same seed and rows as the task board's intervals), on what the task adds to the track's mean
(``TaskKind.track_value``: R² clipped to [0, 1] for a regression task, whatever its primary
metric), so the resampled means are the track mean's. Only the tasks the track ranks on
count (a task no team has an entry on does not: `leaderboard.core.track.ranked_tasks`).

A task's resamples are cached by the ids of the prediction files they read (a new best
submission is a new key; :mod:`leaderboard.statistics.first_samples`, warmed by the bootstrap job).
A track's live board asks here through :mod:`leaderboard.boards.track_first`, which
caches the result with the board; the statistics read neither boards nor the board cache (an
import-linter contract, pyproject.toml). The caller passes the split it may show: before the
reveal only the public split is computed for participants, so a private-based value never
reaches them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from common.cd_svg import CdTeam, cd_svg
from datasets.models import Task
from leaderboard.core.benchmark.first import (
    DEFAULT_MARGIN,
    TeamPair,
    TrackTaskScores,
    who_is_first,
)
from leaderboard.core.benchmark.pairwise import GROUP_METHOD, cliques
from leaderboard.statistics.first_samples import N_RESAMPLES, task_samples
from scoring.models import Submission

logger = logging.getLogger(__name__)


PAIRWISE_MAX_TEAMS = 50  # pairs listed among the best 50 ranked teams (1,225 pairs at most)


@dataclass(frozen=True, slots=True)
class TeamFirst:
    """One ranked team's P(first), rank interval and group on a track's board (the interval
    and group None when the scores cannot support them: ``FirstBoard.group_reason``)."""

    p_first: float
    rank_interval: tuple[int, int] | None
    group: int | None
    p_first_mc_error: float | None = None


@dataclass(frozen=True)
class FirstBoard:
    """Who is first on a track's board: per team, and the comparisons of every pair."""

    teams: dict[int, TeamFirst]
    pairwise: tuple[TeamPair, ...] = ()  # team ids, the better point mean first
    group_method: str = GROUP_METHOD
    group_reason: str | None = None
    margin: float = DEFAULT_MARGIN
    alpha: float = 0.05
    n_resamples: int = 0
    ranked_teams: int = 0
    basis: str | None = None  # "tasks" or "rows": what the pair intervals claim about
    basis_note: str | None = None  # the same in words


EMPTY = FirstBoard(teams={})

FIRST_CSV_COLUMNS = ("p_first", "rank_interval_low", "rank_interval_high", "group")


def first_csv_values(*, first: TeamFirst | None) -> tuple[object, ...]:
    """The :data:`FIRST_CSV_COLUMNS` of one team (empty cells for a baseline or a reference)."""
    if first is None:
        return (None, None, None, None)
    low, high = first.rank_interval or (None, None)
    return (first.p_first, low, high, first.group)


def first_fields(*, first: TeamFirst | None) -> dict[str, object]:
    """A standings entry's ``p_first`` (with its Monte Carlo error), ``rank_interval``
    [lo, hi] and ``group`` (nulls for a baseline, or when they could not be computed)."""
    if first is None:
        return {"p_first": None, "p_first_mc_error": None, "rank_interval": None, "group": None}
    return {
        "p_first": first.p_first,
        "p_first_mc_error": first.p_first_mc_error,
        "rank_interval": None if first.rank_interval is None else list(first.rank_interval),
        "group": first.group,
    }


def comparison_fields(*, board: FirstBoard, names: Mapping[int, str]) -> dict[str, object]:
    """A track board's (or frozen track's) ``pairwise`` [{"a", "b", "difference", "ci",
    "verdict"}] (team names; ``a_id``/``b_id`` beside, and the ``reason`` of a pair without
    an interval) and ``group_method``, with the ``group_reason`` when groups are missing,
    the ``equivalence_margin`` of the verdicts and the ``pairwise_basis`` ("tasks": a claim
    about tasks like these; "rows": about these tasks only) with its ``pairwise_note``."""
    return {
        "group_method": board.group_method,
        "group_reason": board.group_reason,
        "equivalence_margin": board.margin,
        "pairwise_teams": min(board.ranked_teams, PAIRWISE_MAX_TEAMS),
        "pairwise_basis": board.basis,
        "pairwise_note": board.basis_note,
        "pairwise": [
            {
                "a": names.get(pair.a, str(pair.a)),
                "b": names.get(pair.b, str(pair.b)),
                "a_id": pair.a,
                "b_id": pair.b,
                "difference": pair.difference,
                "ci": None if pair.ci is None else [pair.ci[0], pair.ci[1]],
                "verdict": pair.verdict,
                "reason": pair.reason,
            }
            for pair in board.pairwise
        ],
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
    margin: float = DEFAULT_MARGIN,
    shifts: Mapping[str, Mapping[int, float]] | None = None,
) -> FirstBoard:
    """P(first), rank interval and group of each ranked team of ``teams`` (board order),
    and the pairwise comparisons of the best :data:`PAIRWISE_MAX_TEAMS`.

    ``shifts[task slug][team id]`` moves a team's resamples of a task (a ladder board's
    public split, docs/organizers/ladder.md: by its shown value minus its exact one, so that they
    spread around what the board shows and never around the exact score it hides).

    ``tasks`` are the tasks the track ranks on (`leaderboard.core.track.ranked_tasks`),
    ``values[task slug][team id]`` is what the team's board score adds to the track's mean
    (the points resampled around), ``submissions[task slug][team id]`` the submission its
    board ranks (whose predictions are resampled; a task whose files cannot be read counts
    its point values in every resample, logged). Baselines are references: no values.
    ``alpha`` is 1 - the challenge's confidence level (``Challenge.alpha``), ``margin`` its
    ``equivalence_margin``. Empty when there is no ranked team.
    """
    team_list = list(teams)
    if not tasks or not any(t not in baselines for t in team_list):
        return EMPTY
    per_task: list[TrackTaskScores] = []
    for task in tasks:
        point = np.zeros(len(team_list))
        scored = np.zeros(len(team_list), dtype=bool)
        for i, team in enumerate(team_list):
            value = (values.get(task.slug) or {}).get(team)
            if value is not None and np.isfinite(value):
                point[i], scored[i] = float(value), True
        try:
            samples = task_samples(
                task=task, split=split, submissions=submissions.get(task.slug) or {}
            )
        except Exception:  # an unreadable file must not take the board down
            logger.exception("P(first): the resamples of task %s (%s) failed", task.slug, split)
            samples = None  # the task then counts its point values in every resample
        moved = (shifts or {}).get(task.slug) or {}
        drawn = _drawn(point, scored, team_list, samples, moved)
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
            margin=margin,
            pair_teams=PAIRWISE_MAX_TEAMS,
        )
    except ValueError:  # inputs the core refuses: no column rather than no board or freeze
        logger.exception("P(first) of track %s (%s) was refused", tasks[0].track_id, split)
        return EMPTY
    return FirstBoard(
        teams={
            e.team: TeamFirst(
                p_first=e.p_first,
                rank_interval=e.rank_interval,
                group=e.group,
                p_first_mc_error=e.p_first_mc_error,
            )
            for e in result.entries
            if e.p_first is not None
        },
        pairwise=result.pairwise,
        group_method=result.group_method,
        group_reason=result.group_reason,
        margin=result.margin,
        alpha=alpha,
        n_resamples=result.n_resamples,
        ranked_teams=sum(1 for e in result.entries if not e.is_reference),
        basis=result.pairwise_basis,
        basis_note=result.pairwise_note,
    )


def _drawn(
    point: np.ndarray,
    scored: np.ndarray,
    teams: list[int],
    samples: Mapping[int, np.ndarray] | None,
    moved: Mapping[int, float],
) -> np.ndarray:
    """A task's resamples of each team (its point value in every resample when there are
    none), moved by ``moved`` (a ladder board's shown minus exact value)."""
    drawn = np.repeat(point[None, :], N_RESAMPLES, axis=0)
    if samples is not None:
        for i, team in enumerate(teams):
            if scored[i] and team in samples:
                drawn[:, i] = samples[team] + moved.get(team, 0.0)
    return drawn


CD_MAX_TEAMS = 20  # teams on the page's critical-difference diagram
PAGE_PAIRS_TEAMS = 10  # the page's pairwise table: every pair of the best 10 (45 rows)


@dataclass(frozen=True)
class FirstPage:
    """What a track page shows of the comparisons: the diagram and the pairwise rows."""

    cd_svg: str
    pairs: list[dict[str, object]]  # a, b (names), difference, ci, verdict, words
    diagram_teams: int
    table_teams: int


def first_page_parts(
    *,
    board: FirstBoard,
    order: Sequence[int],
    names: Mapping[int, str],
    means: Mapping[int, float],
    title: str,
    level: str,
) -> FirstPage:
    """The critical-difference diagram of the best :data:`CD_MAX_TEAMS` of ``order`` (the
    ranked team ids, board order) and the pairwise rows of the best
    :data:`PAGE_PAIRS_TEAMS`."""
    shown = [t for t in order if t in board.teams][:CD_MAX_TEAMS]
    position = {team: i for i, team in enumerate(shown)}
    separated = np.zeros((len(shown), len(shown)), dtype=bool)
    for pair in board.pairwise:
        if pair.a in position and pair.b in position and pair.ci is not None:
            apart = pair.ci[0] > 0 or pair.ci[1] < 0
            separated[position[pair.a], position[pair.b]] = apart
            separated[position[pair.b], position[pair.a]] = apart
    svg = ""
    if board.group_reason is None and len(shown) > 1:
        svg = cd_svg(
            [CdTeam(name=names[t], mean=means[t]) for t in shown],
            cliques(separated),
            title=title,
            level=level,
        )
    table = set(shown[:PAGE_PAIRS_TEAMS])
    return FirstPage(
        cd_svg=svg,
        pairs=[
            {
                "a": names.get(pair.a, str(pair.a)),
                "b": names.get(pair.b, str(pair.b)),
                "difference": pair.difference,
                "ci": pair.ci,
                "verdict": pair.verdict,
                "words": verdict_words(
                    pair=pair,
                    a=names.get(pair.a, str(pair.a)),
                    b=names.get(pair.b, str(pair.b)),
                    margin=board.margin,
                    basis=board.basis,
                ),
            }
            for pair in board.pairwise
            if pair.a in table and pair.b in table
        ],
        diagram_teams=len(shown),
        table_teams=len(table),
    )


def verdict_words(*, pair: TeamPair, a: str, b: str, margin: float, basis: str | None) -> str:
    """What a pair's verdict says, in a sentence that means it: ``a`` is the team with the
    better (or equal) point mean, the verdict is from its side; ``basis`` says whether the
    claim is about tasks like these or these tasks' rows only."""
    scope = "on tasks like these" if basis == "tasks" else "on these tasks' test rows"
    within = f"±{margin:g} (the organizers' margin)"
    if pair.ci is None:
        return f"no interval: {pair.reason or 'the scores cannot support one'}"
    low, high = pair.ci
    if pair.verdict == "equivalent":
        if low > 0:
            return f"{a} is ahead of {b} {scope}, but by less than {within}"
        if high < 0:
            return f"{a} is behind {b} {scope}, but by less than {within}"
        return f"{a} and {b} differ by less than {within} {scope}"
    if pair.verdict == "better":
        return f"{a} is better than {b} {scope}: the whole interval lies above 0"
    if pair.verdict == "worse":
        return f"{a} is worse than {b} {scope}: the whole interval lies below 0"
    return (
        f"cannot tell {a} and {b} apart {scope}: the interval holds 0, and reaches beyond "
        f"{within}, so they are not shown equivalent either"
    )
