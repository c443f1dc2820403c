"""Who is first, with what probability: a track's standings resampled (DESIGN §12).

A track ranks teams by the mean of their primary scores over all its tasks, a task without a
score counting 0 (`leaderboard.core.track`). Here that mean is recomputed on resamples of
both sources of chance: the tasks the track happens to hold and the rows each task happens to
test. Resample b (b = 0 .. N - 1, generator ``np.random.default_rng(seed)``):

- draws T task indices with replacement out of the track's T tasks, ``task[b, j]``, and for
  each draw one of the caller's B row resamples of that task, ``row[b, j]`` (uniform in
  0 .. B - 1; a task drawn twice gets two row resamples);
- every team's track mean is ``m[b, i] = 1/T sum_j s[task[b, j]][row[b, j], i]``: the same
  draws for every team, so differences between teams are paired.

The caller's row resample r of a task draws the same rows for every team (the leaderboard's
paired bootstrap, ``bootstrap_leaderboard(..., keep_samples=True).samples``).

Directions: ``s`` is the score as is on a higher-is-better task and its negative on a
lower-is-better one, so higher is better throughout. A plain mean of such scores is the
track's ranking only when its tasks share a scale; a track that mixes metrics must pass
scores it has made comparable (e.g. normalized, marked higher_is_better) - the ranking rule
belongs to the track, and this core averages what it is given, as the track mean does.

Per ranked team (references take no part: no p_first, rank interval or group):

- ``p_first``: the share of resamples where its mean is the highest; a resample where k teams
  share the highest mean gives each 1/k, so the shares of all ranked teams sum to 1;
- ``rank_interval``: the central 1 - alpha interval of its rank over the resamples (the k-th
  smallest and k-th largest, k = max(1, ceil(alpha/2 N))), the rank in a resample being
  1 + the number of ranked teams with a strictly higher mean there;
- ``group``: the leader is the ranked team with the highest point mean (ties: the first in
  input order, so pass teams in board order). A team cannot be separated from the leader when
  at least k of the N resamples have ``m[b, team] >= m[b, leader]`` - the 1 - alpha paired
  interval of (leader - team) reaches 0, the rule of the task boards' "tied with #1"
  (`leaderboard.core.bootstrap`). The leader and those teams form group 1; of the teams left,
  the one with the highest point mean leads group 2 with the teams left that cannot be
  separated from it; and so on. Not corrected for multiple comparisons: a group says "could
  be ahead of the next group's teams", not more.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from leaderboard.core.benchmark.intervals import (
    check_alpha,
    finite_number,
    resample_chunks,
    tail_index,
)
from leaderboard.core.ranking import TeamId

MAX_RESAMPLES = 100_000  # the draws are held at once: (resamples x tasks) indices, twice


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TrackTaskScores:
    """One task's primary scores in the track, per team (in the order of ``teams``)."""

    task: str
    point: np.ndarray  # (teams,) the score on the task's rows
    resamples: np.ndarray  # (B, teams): row resample r, the same rows for every team
    higher_is_better: bool = True
    scored: np.ndarray | None = None  # (teams,) bool; None: every team has a score
    missing_score: float | None = None  # what a team without a score counts (0 by default on
    # a higher-is-better task, as the track mean does; a lower-is-better task must say)


@dataclass(frozen=True, slots=True, kw_only=True)
class FirstEntry:
    team: TeamId
    is_reference: bool
    track_mean: float  # the point mean of the oriented scores (higher is better)
    p_first: float | None  # None for references
    rank_interval: tuple[int, int] | None
    group: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class FirstResult:
    entries: tuple[FirstEntry, ...]  # in the order of ``teams``
    leader: TeamId | None  # the ranked team with the highest point mean
    n_resamples: int
    alpha: float
    seed: int


def track_resample_draws(
    *, n_tasks: int, n_row_resamples: int, n_resamples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(N, T) task indices and (N, T) row-resample indices of every track resample."""
    generator = np.random.default_rng(seed)
    tasks = generator.integers(0, n_tasks, size=(n_resamples, n_tasks))
    rows = generator.integers(0, n_row_resamples, size=(n_resamples, n_tasks))
    return tasks, rows


def _oriented(task: TrackTaskScores, n_teams: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    """The task's checked (teams,) point scores, turned higher-is-better with the missing
    filled, its (B, teams) resamples as given, and the fill and sign for those."""
    where = f"task {task.task!r}"
    point = np.array(task.point, dtype=np.float64)
    samples = np.asarray(task.resamples, dtype=np.float64)  # only read: no copy
    if point.shape != (n_teams,):
        raise ValueError(f"{where}: point has shape {point.shape}, expected ({n_teams},)")
    if samples.ndim != 2 or samples.shape[1] != n_teams or samples.shape[0] < 1:
        raise ValueError(
            f"{where}: resamples has shape {samples.shape}, expected (B >= 1, {n_teams})"
        )
    scored = np.ones(n_teams, dtype=bool) if task.scored is None else np.asarray(task.scored)
    if scored.shape != (n_teams,) or scored.dtype != bool:
        raise ValueError(f"{where}: scored must be {n_teams} booleans")
    for name, finite in (
        ("point", np.isfinite(point)),
        ("resamples", np.isfinite(samples).all(axis=0)),
    ):
        if not finite[scored].all():
            raise ValueError(
                f"{where}: {name} holds a value that is not a finite number for a team with a "
                "score (mark teams without one in scored)"
            )
    if task.missing_score is not None:
        fill = finite_number(task.missing_score, what=f"{where} missing_score")
    elif task.higher_is_better or scored.all():
        fill = 0.0
    else:
        raise ValueError(
            f"{where} is lower-is-better and some team has no score on it: pass missing_score "
            "(counting 0 would make a missing score a perfect one)"
        )
    sign = 1.0 if task.higher_is_better else -1.0
    point[~scored] = fill
    return point * sign, samples, fill, sign


def _ranked_stack(
    oriented: list[tuple[np.ndarray, np.ndarray, float, float]],
    tasks: Sequence[TrackTaskScores],
    ranked: np.ndarray,
) -> np.ndarray:
    """(T, B, ranked) the ranked teams' resampled scores, turned and filled: the one copy."""
    stack = np.empty((len(oriented), oriented[0][1].shape[0], ranked.size))
    for i, ((_, samples, fill, sign), task) in enumerate(zip(oriented, tasks, strict=True)):
        np.take(samples, ranked, axis=1, out=stack[i])
        if task.scored is not None:
            stack[i][:, ~np.asarray(task.scored)[ranked]] = fill
        stack[i] *= sign
    return stack


def _groups(order: list[int], at_least_leader: np.ndarray, k: int) -> dict[int, int]:
    """Group number per ranked column: see the module docstring. ``order`` lists the ranked
    columns best point mean first; ``at_least_leader[i, j]`` counts the resamples where
    ranked team i's mean is >= ranked team j's."""
    groups: dict[int, int] = {}
    number = 0
    for leader in order:
        if leader in groups:
            continue
        number += 1
        for other in order:
            if other not in groups and (other == leader or at_least_leader[other, leader] >= k):
                groups[other] = number
    return groups


def who_is_first(
    *,
    teams: Sequence[TeamId],
    tasks: Sequence[TrackTaskScores],
    references: Collection[TeamId] = (),
    alpha: float = 0.05,
    seed: int = 0,
    n_resamples: int | None = None,
) -> FirstResult:
    """P(first), rank intervals and groups of a track's teams (module docstring).

    ``n_resamples`` defaults to the tasks' B. Refused with ValueError: no task, teams listed
    twice, a reference that is not a team, arrays of the wrong shape, a score that is not a
    finite number for a team with a score, different B across tasks, a lower-is-better task
    with a missing score and no ``missing_score``.
    """
    check_alpha(alpha)
    if not tasks:
        raise ValueError("a track needs at least one task")
    team_list = list(teams)
    if len(set(team_list)) != len(team_list):
        raise ValueError("teams must be distinct")
    reference_set = set(references)
    unknown = [r for r in reference_set if r not in set(team_list)]
    if unknown:
        raise ValueError(f"references {unknown!r} are not among the teams")
    n_teams = len(team_list)
    oriented = [_oriented(task, n_teams) for task in tasks]
    n_rows = {samples.shape[0] for _, samples, _, _ in oriented}
    if len(n_rows) != 1:
        raise ValueError(f"every task needs the same number of row resamples, not {n_rows}")
    n_row_resamples = n_rows.pop()
    n = n_row_resamples if n_resamples is None else n_resamples
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_RESAMPLES:
        raise ValueError(
            f"n_resamples must be a whole number from 1 to {MAX_RESAMPLES:,}, not {n!r}"
        )

    point_means = np.mean([point for point, _, _, _ in oriented], axis=0)
    ranked = np.array([i for i, t in enumerate(team_list) if t not in reference_set], dtype=int)
    if ranked.size == 0:
        return FirstResult(
            entries=tuple(
                FirstEntry(
                    team=team,
                    is_reference=True,
                    track_mean=float(point_means[i]),
                    p_first=None,
                    rank_interval=None,
                    group=None,
                )
                for i, team in enumerate(team_list)
            ),
            leader=None,
            n_resamples=n,
            alpha=alpha,
            seed=seed,
        )
    stack = _ranked_stack(oriented, tasks, ranked)
    task_draws, row_draws = track_resample_draws(
        n_tasks=len(tasks), n_row_resamples=n_row_resamples, n_resamples=n, seed=seed
    )
    first = np.zeros(ranked.size)
    rank_counts = np.zeros(ranked.size * (ranked.size + 1), dtype=np.int64)
    offsets = np.arange(ranked.size) * (ranked.size + 1)
    at_least = np.zeros((ranked.size, ranked.size), dtype=np.int64)
    per_resample = 8 * ranked.size * (len(tasks) + 2 * ranked.size)
    for part in resample_chunks(n_resamples=n, bytes_per_resample=per_resample):
        means = stack[task_draws[part], row_draws[part]].mean(axis=1)  # (c, ranked)
        best = means == means.max(axis=1, keepdims=True)
        first += (best / best.sum(axis=1, keepdims=True)).sum(axis=0)
        above = means[:, None, :] > means[:, :, None]  # [b, i, j]: j strictly above i
        # How often each team had each rank (ranks 1 .. R): no (resamples x teams) array.
        rank_counts += np.bincount(
            (offsets + 1 + above.sum(axis=2)).ravel(), minlength=rank_counts.size
        )
        at_least += (~above).sum(axis=0)  # [i, j]: resamples where i >= j
    k = tail_index(alpha, n)
    cumulative = rank_counts.reshape(ranked.size, ranked.size + 1).cumsum(axis=1)
    low = (cumulative < k).sum(axis=1)  # the k-th smallest rank
    high = (cumulative < n - k + 1).sum(axis=1)  # the k-th largest
    order = sorted(range(ranked.size), key=lambda c: (-point_means[ranked[c]], c))
    groups = _groups(order, at_least, k)
    column = {int(i): c for c, i in enumerate(ranked)}
    entries = []
    for i, team in enumerate(team_list):
        c = column.get(i)
        entries.append(
            FirstEntry(
                team=team,
                is_reference=c is None,
                track_mean=float(point_means[i]),
                p_first=None if c is None else float(first[c] / n),
                rank_interval=None if c is None else (int(low[c]), int(high[c])),
                group=None if c is None else groups[c],
            )
        )
    return FirstResult(
        entries=tuple(entries),
        leader=team_list[int(ranked[order[0]])],
        n_resamples=n,
        alpha=alpha,
        seed=seed,
    )
