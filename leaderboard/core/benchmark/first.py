"""Who is first, with what probability: a track's standings resampled
(docs/architecture.md §12).

A track ranks teams by the mean of their primary scores over all its tasks, a task without a
score counting 0 (`leaderboard.core.track`). Here that mean is recomputed on resamples of
both sources of chance: the tasks the track happens to hold and the rows each task happens to
test. Resample b (b = 0 .. N - 1; drawn in blocks, `track_resample_draws`):

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

Each team's entry on a task is the one its board ranks: on the public split its best public
submission, chosen on the very rows it is scored on (a best-of-k score, optimistic by the
selection); on the private split the submissions it selected as final, chosen on the public
rows and scored on the private ones (no selection on those rows). Nothing here corrects the
public split's optimism: it is stated where the figures are shown.

Per ranked team (references take no part: no p_first, rank interval or group):

- ``p_first``: the share of resamples where its mean is the highest; a resample where k teams
  share the highest mean gives each 1/k, so the shares of all ranked teams sum to 1. Means
  are compared as float64 sums of the T drawn values, and two sums within the rounding of a
  T-term float64 sum (4 T eps times the largest |value|) are a tie: two teams tied to the
  fraction on every resample get exactly 1/2 each. It is a bootstrap frequency (how often
  the team would lead a track re-drawn from these tasks and rows), not a calibrated
  probability that it is the best: with T tasks there are only C(2T - 1, T) task multisets.
  ``p_first_mc_error`` is its Monte Carlo standard error (the SD of the per-resample share
  over sqrt(N)); where a team's P(first) is positive but within two of them of 0 (was it
  ever really first?), N rises fourfold, up to ``MAX_RESAMPLES`` (and a bound on the work).
- ``rank_interval``, ``group`` and the pairwise verdicts: from an interval for every pair
  of track means, each from that pair's own paired differences (`pairwise`: per task, a
  paired t interval, when the track has 3 tasks or more; per resample of the rows within
  the tasks, a claim about these tasks only, when it has fewer), Bonferroni-adjusted so
  that all hold at once: closed-form, without Monte Carlo error; None with
  ``group_reason`` when no pair's difference can be measured.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from leaderboard.core.benchmark.intervals import check_alpha, finite_number, resample_chunks
from leaderboard.core.benchmark.pairwise import GROUP_METHOD, Comparisons, compare_teams
from leaderboard.core.ranking import TeamId

MAX_RESAMPLES = 100_000  # the draws of a pass are held at once: (resamples x tasks), twice
MAX_WORK = 20_000_000  # resamples x teams x tasks: N rises no further than this
BLOCK = 500  # draws come in blocks of this many resamples, block j from (seed, j)
RISE = 4  # N grows by this factor while a P(first) is within MC error of 0
DEFAULT_MARGIN = 0.005  # the region of practical equivalence of the pairwise verdicts


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
    rank_interval: tuple[int, int] | None  # None: references, or declined (group_reason)
    group: int | None
    p_first_mc_error: float | None = None  # Monte Carlo standard error of p_first


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamPair:
    """Two ranked teams, ``a`` ahead of ``b`` in point mean (board order among ties)."""

    a: TeamId
    b: TeamId
    difference: float  # track mean of a - of b (oriented: positive, a is better)
    ci: tuple[float, float] | None  # simultaneous 1 - alpha interval; None: ``reason``
    verdict: str  # better / worse / equivalent / undecided, from a's side
    reason: str | None = None  # why ci is None


@dataclass(frozen=True, slots=True, kw_only=True)
class FirstResult:
    entries: tuple[FirstEntry, ...]  # in the order of ``teams``
    leader: TeamId | None  # the ranked team with the highest point mean
    n_resamples: int  # the resamples P(first) finally drew
    alpha: float
    seed: int
    pairwise: tuple[TeamPair, ...] = ()  # best first, every pair once (see pair_teams)
    group_method: str = GROUP_METHOD
    group_reason: str | None = None  # why groups, rank intervals and pair intervals are None
    pairwise_basis: str | None = None  # "tasks" or "rows" (pairwise.BASES); None: no ranking
    pairwise_note: str | None = None  # the basis and the adjustment, in words
    pairwise_df: int | None = None  # each pair's t interval's degrees of freedom (T - 1)
    pairwise_family: int = 0  # the pairs the multiplicity adjustment counts
    critical_value: float | None = None  # an interval's half-width in its standard errors
    margin: float = DEFAULT_MARGIN


def track_resample_draws(
    *, n_tasks: int, n_row_resamples: int, n_resamples: int, seed: int, start: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(N, T) task indices and (N, T) row-resample indices of track resamples start ..
    start + N - 1. They come in blocks of ``BLOCK``, block j drawn by
    ``np.random.default_rng((seed, j))`` (tasks, then rows): resample b is the same whatever
    N, so adding resamples never changes the ones drawn before."""
    stop = start + n_resamples
    tasks, rows = [], []
    for block in range(start // BLOCK, -(-stop // BLOCK)):
        generator = np.random.default_rng((seed, block))
        drawn_tasks = generator.integers(0, n_tasks, size=(BLOCK, n_tasks))
        drawn_rows = generator.integers(0, n_row_resamples, size=(BLOCK, n_tasks))
        first, last = max(start, block * BLOCK), min(stop, (block + 1) * BLOCK)
        tasks.append(drawn_tasks[first - block * BLOCK : last - block * BLOCK])
        rows.append(drawn_rows[first - block * BLOCK : last - block * BLOCK])
    empty = np.zeros((0, n_tasks), dtype=np.int64)
    return (np.concatenate(tasks) if tasks else empty, np.concatenate(rows) if rows else empty)


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


def _first_counts(
    stack: np.ndarray, *, n_resamples: int, seed: int, start: int, tolerance: float
) -> tuple[np.ndarray, np.ndarray]:
    """(sum, sum of squares) over resamples start .. start + N - 1 of each ranked team's
    share of first place."""
    n_tasks, n_rows, n_teams = stack.shape
    total, squares = np.zeros(n_teams), np.zeros(n_teams)
    per_resample = 8 * n_teams * (n_tasks + 3)
    for part in resample_chunks(n_resamples=n_resamples, bytes_per_resample=per_resample):
        task_draws, row_draws = track_resample_draws(
            n_tasks=n_tasks,
            n_row_resamples=n_rows,
            n_resamples=part.stop - part.start,
            seed=seed,
            start=start + part.start,
        )
        sums = stack[task_draws, row_draws].sum(axis=1)  # (c, ranked): T times the mean
        best = sums >= sums.max(axis=1, keepdims=True) - tolerance
        share = best / best.sum(axis=1, keepdims=True)
        total += share.sum(axis=0)
        squares += (share * share).sum(axis=0)
    return total, squares


def _p_first(
    stack: np.ndarray, *, n_resamples: int, seed: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """(P(first), its Monte Carlo error, the resamples drawn) per ranked team: N starts at
    ``n_resamples`` and rises while some P(first) is positive within 2 errors of 0."""
    n_tasks, _, n_teams = stack.shape
    scale = float(np.max(np.abs(stack))) if stack.size else 0.0
    tolerance = 4 * n_tasks * np.finfo(np.float64).eps * scale
    cap = max(n_resamples, min(MAX_RESAMPLES, MAX_WORK // max(1, n_teams * n_tasks)))
    total, squares = _first_counts(
        stack, n_resamples=n_resamples, seed=seed, start=0, tolerance=tolerance
    )
    drawn = n_resamples
    while True:
        p = total / drawn
        error = np.sqrt(np.maximum(squares / drawn - p * p, 0.0) / drawn)
        if drawn >= cap or not np.any((p > 0) & (p - 2 * error <= 0)):
            return p, error, drawn
        more = min(cap, drawn * RISE) - drawn
        extra_total, extra_squares = _first_counts(
            stack, n_resamples=more, seed=seed, start=drawn, tolerance=tolerance
        )
        total, squares, drawn = total + extra_total, squares + extra_squares, drawn + more


def _checked_teams(
    teams: Sequence[TeamId], references: Collection[TeamId]
) -> tuple[list[TeamId], set[TeamId]]:
    """The teams as a list and the references as a set, refused when a team is listed twice
    or a reference is not a team."""
    team_list = list(teams)
    if len(set(team_list)) != len(team_list):
        raise ValueError("teams must be distinct")
    reference_set = set(references)
    unknown = [r for r in reference_set if r not in set(team_list)]
    if unknown:
        raise ValueError(f"references {unknown!r} are not among the teams")
    return team_list, reference_set


def _checked_resamples(
    oriented: list[tuple[np.ndarray, np.ndarray, float, float]], n_resamples: int | None
) -> int:
    """The N P(first) starts from: the tasks' B (which they must share) unless the caller
    asked for another, a whole number from 1 to ``MAX_RESAMPLES``."""
    n_rows = {samples.shape[0] for _, samples, _, _ in oriented}
    if len(n_rows) != 1:
        raise ValueError(f"every task needs the same number of row resamples, not {n_rows}")
    n_row_resamples = n_rows.pop()
    n = n_row_resamples if n_resamples is None else n_resamples
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_RESAMPLES:
        raise ValueError(
            f"n_resamples must be a whole number from 1 to {MAX_RESAMPLES:,}, not {n!r}"
        )
    return n


def _references_only(
    team_list: list[TeamId],
    point_means: np.ndarray,
    *,
    n_resamples: int,
    alpha: float,
    seed: int,
    margin: float,
) -> FirstResult:
    """The result of a track whose teams are all references: their means, no ranking."""
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
        n_resamples=n_resamples,
        alpha=alpha,
        seed=seed,
        margin=margin,
    )


def _first_entries(
    team_list: list[TeamId],
    ranked: np.ndarray,
    point_means: np.ndarray,
    p_first: np.ndarray,
    mc_error: np.ndarray,
    comparisons: Comparisons,
) -> tuple[FirstEntry, ...]:
    """Every team's entry in the caller's order; a reference's has a mean and nothing else."""
    column = {int(i): c for c, i in enumerate(ranked)}
    entries = []
    for i, team in enumerate(team_list):
        c = column.get(i)
        entries.append(
            FirstEntry(
                team=team,
                is_reference=c is None,
                track_mean=float(point_means[i]),
                p_first=None if c is None else float(p_first[c]),
                rank_interval=None if c is None else comparisons.rank_intervals[c],
                group=None if c is None else comparisons.groups[c],
                p_first_mc_error=None if c is None else float(mc_error[c]),
            )
        )
    return tuple(entries)


def who_is_first(
    *,
    teams: Sequence[TeamId],
    tasks: Sequence[TrackTaskScores],
    references: Collection[TeamId] = (),
    alpha: float = 0.05,
    seed: int = 0,
    n_resamples: int | None = None,
    margin: float = DEFAULT_MARGIN,
    pair_teams: int | None = None,
) -> FirstResult:
    """P(first), rank intervals, groups and the pairwise verdicts of a track's teams
    (module docstring).

    ``n_resamples`` (the first N of P(first)) defaults to the tasks' B. ``margin`` is the
    region of practical equivalence of the verdicts (in the oriented scores' units);
    ``pairwise`` lists the pairs among the best ``pair_teams`` ranked teams (all by default).
    Refused with ValueError: no task, teams listed twice, a reference that is not a team,
    arrays of the wrong shape, a score that is not a finite number for a team with a score,
    different B across tasks, a lower-is-better task with a missing score and no
    ``missing_score``, a negative or non-finite margin.
    """
    check_alpha(alpha)
    if not tasks:
        raise ValueError("a track needs at least one task")
    margin = finite_number(margin, what="margin")
    if margin < 0:
        raise ValueError(f"margin must be 0 or more, not {margin!r}")
    team_list, reference_set = _checked_teams(teams, references)
    n_teams = len(team_list)
    oriented = [_oriented(task, n_teams) for task in tasks]
    n = _checked_resamples(oriented, n_resamples)

    points = np.array([point for point, _, _, _ in oriented])  # (T, teams)
    point_means = points.mean(axis=0)
    ranked = np.array([i for i, t in enumerate(team_list) if t not in reference_set], dtype=int)
    if ranked.size == 0:
        return _references_only(
            team_list, point_means, n_resamples=n, alpha=alpha, seed=seed, margin=margin
        )
    stack = _ranked_stack(oriented, tasks, ranked)
    p_first, mc_error, drawn = _p_first(stack, n_resamples=n, seed=seed)
    order = sorted(range(ranked.size), key=lambda c: (-point_means[ranked[c]], c))
    comparisons = compare_teams(
        scores=points[:, ranked].T,
        resamples=stack,
        means=point_means[ranked],
        order=order,
        alpha=alpha,
        margin=margin,
        pair_teams=pair_teams,
    )
    name = [team_list[int(i)] for i in ranked]
    return FirstResult(
        entries=_first_entries(team_list, ranked, point_means, p_first, mc_error, comparisons),
        leader=team_list[int(ranked[order[0]])],
        n_resamples=drawn,
        alpha=alpha,
        seed=seed,
        pairwise=tuple(
            TeamPair(
                a=name[p.a],
                b=name[p.b],
                difference=p.difference,
                ci=p.ci,
                verdict=p.verdict,
                reason=p.reason,
            )
            for p in comparisons.pairs
        ),
        group_method=comparisons.method,
        group_reason=comparisons.reason,
        pairwise_basis=comparisons.basis,
        pairwise_note=comparisons.note,
        pairwise_df=comparisons.df,
        pairwise_family=comparisons.family,
        critical_value=comparisons.critical_value,
        margin=margin,
    )
