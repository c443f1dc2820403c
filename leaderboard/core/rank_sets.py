"""Simultaneous confidence sets for every rank on a board, and its tiers.

The procedure is Mogstad, Romano, Shaikh and Wilhelm, "Inference for Ranks with
Applications to Mobility across Neighbourhoods and Academic Achievement across Countries",
Review of Economic Studies (2023/2024), section "simultaneous confidence sets for all ranks"
(R's ``csranks``: ``csranks(..., simul=TRUE, cstype="two-sided", stepdown=TRUE)``), with a
nonparametric bootstrap of the board's own units in place of ``csranks``' normal draws.

Ranks
    With true scores ``theta`` (higher is better), entry ``j``'s rank is
    ``1 + #{k: theta_k > theta_j}``: entries tied in truth share the better rank.

Tests
    For every ordered pair ``(j, k)``, ``j != k``, the hypothesis ``H_jk: theta_j <= theta_k``
    is tested with ``T_jk = (est_j - est_k) / se_jk``, ``se_jk`` the bootstrap standard
    deviation of ``est_j - est_k``. The critical value for a set ``I`` of pairs is the
    ``1 - alpha`` quantile (the ``ceil((1 - alpha) B)``-th smallest of ``B``) of the bootstrap's
    ``max_{(j,k) in I} ((rep_j - rep_k) - (est_j - est_k)) / se_jk``. Since ``I`` starts with
    both ``(j, k)`` and ``(k, j)``, the first step is the two-sided test of every pair.
    Step-down (the paper's Algorithm, Romano and Wolf 2005): reject every ``H_jk`` in ``I``
    with ``T_jk`` above the critical value of ``I``, remove them from ``I``, recompute the
    critical value on what is left, and stop when a step rejects nothing. The family-wise
    error is at most ``alpha`` asymptotically, so with probability at least ``1 - alpha``
    *every* rejection is right at once.

Rank sets
    ``low_j = 1 + #{k: H_kj rejected}`` (entries shown better than ``j``) and
    ``high_j = p - #{k: H_jk rejected}`` (entries ``j`` is shown better than). When no
    rejection is wrong, every entry's true rank lies in its set: the sets hold jointly.

Exact ties
    Entries whose replicates and estimates are identical (identical per-unit scores: the same
    predictions) are computed once and share one set: their difference is exactly 0 in every
    draw and is never significant. A pair whose difference does not move across the draws
    (``se_jk`` zero up to rounding) is left out of the maximum: it is separated when the
    difference is not zero (every unit says the same), never otherwise.

Tiers (:func:`rank_tiers`)
    The union of the rank sets falls into disjoint blocks of ranks; a tier is the entries
    whose sets lie in one block, the blocks in order. Two entries in different tiers have
    disjoint sets (the upper one's ``high`` below the lower one's ``low``), so whenever the
    sets hold, every entry of an earlier tier is truly better than every entry of a later
    one: the tiers' order holds with the same ``1 - alpha`` as the sets. Inside a tier,
    entries are chained by overlapping sets; two of them may still be separable from each
    other (the chain joins them), so a tier is "not told apart from its neighbours", never
    "all equal".
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from leaderboard.core.resampling import fill_counts, resample_counts, resample_streams

__all__ = [
    "MIN_TRACK_TASKS",
    "RankSets",
    "TeamRankSets",
    "board_rank_sets",
    "rank_sets_from_replicates",
    "rank_tiers",
    "simultaneous_rank_sets",
    "team_rank_set_fields",
    "team_rank_sets",
]

_DRAW_ROWS = 2**22  # draws x units of counts drawn at once when not kept
_FULL_CELLS = 2**18  # draws x entries x entries of a step-down search computed at once
_ROUNDS = 16  # entries of highest bound ordered at once per draw in the step-down search


@dataclass(frozen=True, slots=True, kw_only=True)
class RankSets:
    """The sets, and which entry was shown better than which (``better[j, k]``)."""

    sets: tuple[tuple[int, int], ...]
    better: np.ndarray  # (p, p) bool: entry j shown better than entry k (H_jk rejected)
    critical: tuple[float, ...]  # the critical value of each step-down step


def _checked_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    return alpha


def simultaneous_rank_sets(
    *,
    scores: np.ndarray | Sequence[Sequence[float]],
    alpha: float = 0.05,
    draws: int = 1000,
    seed: int = 0,
) -> list[tuple[int, int]]:
    """Simultaneous ``1 - alpha`` confidence sets ``(low, high)`` for every entry's rank, 1 the
    best (module docstring). ``scores`` is entries x units; an entry's score is the mean of
    its row, higher is better. The units are resampled ``draws`` times with the boards'
    own draws (``resampling``: child ``b`` of ``SeedSequence(seed)`` draws resample ``b``).
    ValueError on a matrix that is not 2-D, finite, with at least one entry and two units."""
    matrix = np.asarray(scores, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError("scores must be a 2-D array: entries x units")
    p, n = matrix.shape
    if p < 1:
        raise ValueError("at least one entry is needed")
    if n < 2:
        raise ValueError("at least two units are needed")
    if not np.isfinite(matrix).all():
        raise ValueError("scores must be finite")
    _checked_alpha(alpha)
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ValueError("draws must be a positive integer")
    unique, inverse = np.unique(matrix, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    estimates = unique.mean(axis=1)
    replicates = _resampled_means(unique, seed=seed, draws=int(draws))
    result = _rank_sets(estimates, replicates, alpha, np.bincount(inverse))
    return [result.sets[i] for i in inverse]


def _resampled_means(unique: np.ndarray, *, seed: int, draws: int) -> np.ndarray:
    """(draws x entries) means of the resampled units (the row bootstrap's counts)."""
    n = unique.shape[1]
    counts = resample_counts(seed=seed, n_resamples=draws, n=n)
    if counts is not None:
        return (counts @ unique.T) / n
    out = np.empty((draws, unique.shape[0]))
    streams = resample_streams(seed=seed, n_resamples=draws)
    step = max(1, _DRAW_ROWS // n)
    for b0 in range(0, draws, step):
        out[b0 : b0 + step] = (fill_counts(streams[b0 : b0 + step], n) @ unique.T) / n
    return out


def rank_sets_from_replicates(
    *, estimates: np.ndarray, replicates: np.ndarray, alpha: float = 0.05
) -> RankSets:
    """The rank sets from the point estimates (p, higher is better) and the bootstrap's
    replicates of them (draws x p), e.g. a board's paired bootstrap samples (oriented so
    that higher is better). Identical entries (same estimate and replicates) share a set."""
    est = np.asarray(estimates, dtype=np.float64)
    reps = np.asarray(replicates, dtype=np.float64)
    if est.ndim != 1 or reps.ndim != 2 or reps.shape[1] != est.shape[0]:
        raise ValueError("replicates must be draws x entries, estimates one per entry")
    if est.shape[0] < 1 or reps.shape[0] < 1:
        raise ValueError("at least one entry and one draw are needed")
    if not (np.isfinite(est).all() and np.isfinite(reps).all()):
        raise ValueError("estimates and replicates must be finite")
    alpha = _checked_alpha(alpha)
    first, inverse = _identical(est, reps)
    result = _rank_sets(est[first], reps[:, first], alpha, np.bincount(inverse))
    better = result.better[np.ix_(inverse, inverse)]
    return RankSets(
        sets=tuple(result.sets[i] for i in inverse), better=better, critical=result.critical
    )


def _identical(est: np.ndarray, reps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The entries with identical estimates and replicates, found by a key per entry (a
    fixed random projection of its replicates, and its estimate) and checked exactly:
    ``first`` (one entry of each distinct column, in order) and ``inverse`` (each entry's
    position in ``first``)."""
    projection = np.random.default_rng(0).random(reps.shape[0])
    keys = np.stack([est, projection @ reps], axis=1)
    _, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.reshape(-1)
    owner = np.arange(est.shape[0])  # each entry's representative: the first equal entry
    for g in np.flatnonzero(np.bincount(group) > 1):
        members = np.flatnonzero(group == g)
        for i, m in enumerate(members):
            for prior in members[:i]:
                if owner[prior] == prior and np.array_equal(reps[:, prior], reps[:, m]):
                    owner[m] = prior
                    break
    first, inverse = np.unique(owner, return_inverse=True)
    return first, inverse.reshape(-1)


def _rank_sets(est: np.ndarray, reps: np.ndarray, alpha: float, weight: np.ndarray) -> RankSets:
    """The step-down on distinct entries; ``weight`` counts the identical copies of each."""
    u = est.shape[0]
    p = int(weight.sum())
    jj, kk = np.triu_indices(u, k=1)
    diff = est[jj] - est[kk]  # est_j - est_k per unordered pair j < k
    centred = reps - est[None, :]  # rep_j - est_j: H_jk's draw is (centred_j - centred_k) / se
    scale = 1e-12 * (1.0 + float(np.abs(reps).max()) + float(np.abs(est).max()))
    sd, flat = _pair_sd(reps, jj, kk, scale)
    inv_sd = np.where(flat, 0.0, 1.0 / np.where(flat, 1.0, sd))
    t = diff * inv_sd
    fwd_rej = flat & (diff > scale)  # j better than k, without doubt
    bwd_rej = flat & (diff < -scale)
    fwd_in = ~flat  # H_jk (theta_j <= theta_k) still in I
    bwd_in = ~flat  # H_kj
    critical: list[float] = []
    order = math.ceil((1 - alpha) * reps.shape[0] - 1e-9)
    weights = np.zeros((u, u))  # 1 / se of the ordered pair (j, k): H_jk's statistic
    weights[jj, kk] = weights[kk, jj] = inv_sd
    alive = np.zeros((u, u), dtype=bool)  # H_jk still in I
    draws = np.arange(reps.shape[0])
    maxima = np.full(reps.shape[0], -np.inf)
    top_j = np.zeros(reps.shape[0], dtype=np.int64)  # the hypothesis H_jk of each draw's max
    top_k = np.zeros(reps.shape[0], dtype=np.int64)
    while fwd_in.any() or bwd_in.any():
        alive[jj, kk], alive[kk, jj] = fwd_in, bwd_in
        _maxima_into(maxima, (top_j, top_k), draws, centred, weights, alive)
        c = float(np.partition(maxima, order - 1)[order - 1])
        critical.append(c)
        new_fwd = fwd_in & (t > c)
        new_bwd = bwd_in & (-t > c) & ~fwd_rej & ~new_fwd
        if not (new_fwd.any() or new_bwd.any()):
            break
        fwd_rej |= new_fwd
        bwd_rej |= new_bwd
        fwd_in &= ~new_fwd
        bwd_in &= ~new_bwd
        # I only shrinks: a draw's max moves only when its hypothesis left I.
        left = np.zeros((u, u), dtype=bool)
        left[jj, kk], left[kk, jj] = new_fwd, new_bwd
        draws = np.flatnonzero(left[top_j, top_k])
    better = np.zeros((u, u), dtype=bool)
    better[jj[fwd_rej], kk[fwd_rej]] = True
    better[kk[bwd_rej], jj[bwd_rej]] = True
    shown_above = (better * weight[:, None]).sum(axis=0)  # weighted count of k better than j
    shown_below = (better * weight[None, :]).sum(axis=1)
    sets = tuple((1 + int(a), p - int(b)) for a, b in zip(shown_above, shown_below, strict=True))
    return RankSets(sets=sets, better=better, critical=tuple(critical))


def _pair_sd(
    reps: np.ndarray, jj: np.ndarray, kk: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per pair: the standard deviation of ``rep_j - rep_k`` over the draws (from the
    replicates' covariance), and whether the difference does not move at all (its range
    over the draws within rounding, checked on the few pairs whose variance is ~0)."""
    centred = reps - reps.mean(axis=0)
    cov = (centred.T @ centred) / reps.shape[0]
    own = np.diag(cov)
    var = own[jj] + own[kk] - 2 * cov[jj, kk]
    suspect = np.flatnonzero(var <= 1e-9 * (own[jj] + own[kk]) + scale * scale)
    flat = np.zeros(jj.shape[0], dtype=bool)
    if suspect.size:
        d = reps[:, jj[suspect]] - reps[:, kk[suspect]]
        flat[suspect] = d.max(axis=0) - d.min(axis=0) <= scale
        exact = d - d.mean(axis=0)
        var[suspect] = (exact * exact).mean(axis=0)
    return np.sqrt(np.maximum(var, 0.0)), flat


def _maxima_into(
    maxima: np.ndarray,
    top: tuple[np.ndarray, np.ndarray],
    draws: np.ndarray,
    centred: np.ndarray,
    weights: np.ndarray,
    alive: np.ndarray,
) -> None:
    """For the ``draws`` given: the max over the hypotheses ``H_jk`` left in I (``alive``)
    of ``(centred_j - centred_k) * weights[j, k]`` (``maxima``), and its ``(j, k)`` (``top``).

    Exact, in float64, without visiting every pair in every draw: in a draw, entry ``j``'s
    hypotheses ``H_jk`` are at most ``(centred_j - min_k centred_k) * max_k weights[j, k]``
    (the differences and weights are rounded monotonically, so the bound holds after
    rounding too). Each round, every draw not yet settled takes its entry of highest bound,
    computes that entry's hypotheses exactly, and is settled once its best so far reaches
    the highest bound left (the rows of the other entries cannot exceed it). A draw's
    maximum usually comes from the few entries far from the draw's centre, so a round or a
    few settle most draws, against the ``p^2`` pairs of every draw of a plain search."""
    if draws.size == 0:
        return
    values = centred[draws]
    reach = np.where(alive, weights, 0.0).max(axis=1)
    bound = (values - values.min(axis=1, keepdims=True)) * reach[None, :]
    bound[:, ~alive.any(axis=1)] = -np.inf  # an entry with no hypothesis left
    shut = np.where(alive, 0.0, -np.inf)  # added: -inf where H_jk has left I
    best = np.full(draws.size, -np.inf)
    best_j = np.zeros(draws.size, dtype=np.int64)
    best_k = np.zeros(draws.size, dtype=np.int64)
    open_ = np.arange(draws.size)  # the draws not yet settled (positions in ``draws``)
    u = values.shape[1]
    depth = min(_ROUNDS, u)
    step = depth  # the next of each open draw's entries in ``order`` (a new block when depth)
    while open_.size:
        if open_.size * u * u <= _FULL_CELLS:  # the last few draws: every hypothesis at once
            _maxima_in_full(open_, values, weights, alive, (best, best_j, best_k))
            break
        if step == depth:  # each open draw's ``depth`` highest bounds left, highest first
            order, highs = _highest(bound, open_, depth)
            at, step = np.arange(open_.size), 0
        j, high = order[at, step], highs[at, step]
        step += 1
        keep = high > best[open_]
        open_, at, j = open_[keep], at[keep], j[keep]
        if open_.size == 0:
            break
        row = values[open_]
        found = (row[np.arange(open_.size), j][:, None] - row) * weights[j]
        found += shut[j]
        k = np.argmax(found, axis=1)
        value = found[np.arange(open_.size), k]
        gain = value > best[open_]
        best[open_[gain]] = value[gain]
        best_j[open_[gain]], best_k[open_[gain]] = j[gain], k[gain]
    maxima[draws] = best
    top[0][draws], top[1][draws] = best_j, best_k


def _highest(bound: np.ndarray, open_: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``depth`` entries of highest ``bound`` in each ``open_`` draw, highest first, and
    their bounds; they are marked used in ``bound`` (-inf)."""
    part = bound[open_]
    if depth < part.shape[1]:
        chosen = np.argpartition(part, part.shape[1] - depth, axis=1)[:, -depth:]
    else:
        chosen = np.broadcast_to(np.arange(part.shape[1]), part.shape)
    highs = np.take_along_axis(part, chosen, axis=1)
    by = np.argsort(-highs, axis=1, kind="stable")
    order = np.take_along_axis(chosen, by, axis=1)
    bound[open_[:, None], order] = -np.inf
    return order, np.take_along_axis(highs, by, axis=1)


def _maxima_in_full(
    open_: np.ndarray,
    values: np.ndarray,
    weights: np.ndarray,
    alive: np.ndarray,
    best: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """``_maxima_into``'s draws ``open_`` settled by computing every hypothesis left in
    each (``best``: the max so far, its ``j`` and ``k``, updated where a hypothesis is above)."""
    row = values[open_]
    found = (row[:, :, None] - row[:, None, :]) * weights[None]
    found[:, ~alive] = -np.inf
    flat = found.reshape(open_.size, -1)
    where = np.argmax(flat, axis=1)
    value = flat[np.arange(open_.size), where]
    top, top_j, top_k = best
    gain = value > top[open_]
    top[open_[gain]] = value[gain]
    top_j[open_[gain]], top_k[open_[gain]] = np.divmod(where[gain], values.shape[1])


def rank_tiers(rank_sets: Sequence[tuple[int, int] | None]) -> list[list[int]]:
    """The tiers (module docstring) as lists of indices into ``rank_sets``, best tier first,
    each in input order; entries without a set (None: baselines, unranked) are in none."""
    spans = sorted((int(s[0]), int(s[1]), i) for i, s in enumerate(rank_sets) if s is not None)
    tiers: list[list[int]] = []
    reach = 0
    for low, high, i in spans:
        if not tiers or low > reach:
            tiers.append([])
        tiers[-1].append(i)
        reach = max(reach, high)
    return [sorted(tier) for tier in tiers]


def board_rank_sets(
    *,
    samples: np.ndarray,
    points: np.ndarray,
    is_baseline: Sequence[bool],
    higher_is_better: bool,
    alpha: float = 0.05,
) -> list[tuple[int, int] | None]:
    """A board's rank sets from its paired bootstrap (``bootstrap.bootstrap_leaderboard``'s
    ``samples``, resamples x entries, and point scores): the same draws as its intervals.
    Baselines get None and do not count in the others' ranks, as in the per-entry ranges."""
    baseline = np.asarray(is_baseline, dtype=bool)
    ranked = np.flatnonzero(~baseline)
    out: list[tuple[int, int] | None] = [None] * baseline.size
    if ranked.size == 0:
        return out
    sign = 1.0 if higher_is_better else -1.0
    result = rank_sets_from_replicates(
        estimates=sign * np.asarray(points, dtype=np.float64)[ranked],
        replicates=sign * np.asarray(samples, dtype=np.float64)[:, ranked],
        alpha=alpha,
    )
    for index, found in zip(ranked.tolist(), result.sets, strict=True):
        out[index] = found
    return out


MIN_TRACK_TASKS = 10  # a bootstrap over fewer tasks cannot hold its level


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamRankSets:
    """A track's rank sets by team, its tiers (team ids, best first, in ``teams``' order),
    or the reason it has none."""

    sets: dict[Hashable, tuple[int, int]]
    tiers: tuple[tuple[Hashable, ...], ...]
    reason: str | None = None


def team_rank_sets(
    *,
    values: Mapping[str, Mapping[Hashable, float | None]],
    teams: Sequence[Hashable],
    tasks: Sequence[str],
    min_tasks: int = MIN_TRACK_TASKS,
) -> TeamRankSets:
    """The rank sets of a track's ranked ``teams`` (no baselines), its tasks the units: a
    team's score is the mean of its ``values[task][team]`` over ``tasks`` (a missing value
    counts 0, as in the track's mean). Declined, with the reason, below two teams or
    ``min_tasks`` tasks."""
    if len(teams) < 2:
        return TeamRankSets(sets={}, tiers=(), reason="fewer than two ranked teams")
    if len(tasks) < min_tasks:
        return TeamRankSets(
            sets={},
            tiers=(),
            reason=f"{len(tasks)} ranked tasks: a bootstrap over fewer than {min_tasks} tasks "
            "cannot hold its level",
        )
    matrix = np.array([[(values.get(t) or {}).get(team) or 0.0 for t in tasks] for team in teams])
    sets = simultaneous_rank_sets(scores=matrix)
    tiers = tuple(tuple(teams[i] for i in tier) for tier in rank_tiers(sets))
    return TeamRankSets(sets=dict(zip(teams, sets, strict=True)), tiers=tiers)


def team_rank_set_fields(found: TeamRankSets, team: Hashable) -> dict[str, object]:
    """A track entry's ``rank_set`` ([low, high]) and ``tier`` (nulls: a baseline, or the
    sets were declined)."""
    rank_set = found.sets.get(team)
    tier = next((n for n, t in enumerate(found.tiers, start=1) if team in t), None)
    return {"rank_set": None if rank_set is None else list(rank_set), "tier": tier}
