"""Pairwise intervals and verdicts, groups and rank intervals of a track, counted by
simulation through ``who_is_first`` (issues 38 and 50; docs/developers/benchmark-statistics.md §5):
true means are planted, the track's scores drawn again and again, and every claim the
figures make is checked against the truth.

Two plantings, one per basis of the pair intervals:

- **tasks like these** (6 tasks, the paired t over the tasks): fresh task effects, a fresh
  team-by-task interaction and fresh row noise each time; the truth is the planted mean, what
  the track's difference would be over many tasks like these;
- **these tasks' rows** (1 and 2 tasks, the paired row bootstrap): the tasks are fixed, each
  team right on a test row with a planted probability (teams' errors correlated, as models'
  are), a fresh test set of rows drawn each time and resampled; the truth is the planted
  accuracy difference on the task's population of rows.

At the 0.95 level every pair's interval holds its truth at once with probability at least
0.95 by construction (Bonferroni over the pairs); the tests require the measured
simultaneous coverage to be at least 0.90, the rate of any false "better"/"worse" under a
planted null at most the nominal 0.05 (no allowance), and state the power at which a
planted equivalence is found. Every repetition is seeded, so the counts are the same on
every run.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from leaderboard.core.benchmark.first import TrackTaskScores, who_is_first
from leaderboard.core.benchmark.pairwise import GROUP_METHOD, ROWS_METHOD

N_TASKS = 6
N_ROWS = 40  # row resamples per task of the "tasks" planting (P(first) reads them too)
ALPHA = 0.05


def track(means, rng, *, interaction=0.02, row=0.005, identical=()):
    """One draw of a track's tasks around the planted ``means``; the teams of each pair in
    ``identical`` submit the very same predictions (equal scores and resamples)."""
    means = np.asarray(means, dtype=float)
    tasks = []
    for t in range(N_TASKS):
        truth = means + rng.normal(0, 0.05) + rng.normal(0, interaction, means.size)
        shared = rng.normal(0, row, (N_ROWS + 1, 1))
        noisy = truth + shared + rng.normal(0, row, (N_ROWS + 1, means.size))
        for a, b in identical:
            noisy[:, b] = noisy[:, a]
        tasks.append(TrackTaskScores(task=f"t{t}", point=noisy[0], resamples=noisy[1:]))
    return tasks


def repeat(means, *, repetitions, seed, margin=0.005, **options):
    teams = [f"team{i}" for i in range(len(means))]
    for r in range(repetitions):
        rng = np.random.default_rng(seed + r)
        yield who_is_first(
            teams=teams,
            tasks=track(means, rng, **options),
            alpha=ALPHA,
            seed=r,
            n_resamples=N_ROWS,
            margin=margin,
        )


def truths(result, means):
    index = {e.team: i for i, e in enumerate(result.entries)}
    return [means[index[p.a]] - means[index[p.b]] for p in result.pairwise]


def held_at_once(result, means) -> bool:
    return all(
        p.ci is not None and p.ci[0] <= truth <= p.ci[1]
        for p, truth in zip(result.pairwise, truths(result, means), strict=True)
    )


def false_direction(result, means) -> bool:
    """Some pair told apart the wrong way: its interval above 0 (``better``, or
    ``equivalent`` with the page's "ahead, but by less than the margin") while a is not truly
    ahead, or below 0 while it is not truly behind."""
    return any(
        p.ci is not None and ((p.ci[0] > 0 and truth <= 0) or (p.ci[1] < 0 and truth >= 0))
        for p, truth in zip(result.pairwise, truths(result, means), strict=True)
    )


def test_every_pair_interval_holds_its_true_difference_at_once_on_the_tasks():
    # 5 teams, 10 pairs, each interval from its own 6 per-task differences.
    means = np.array([0.80, 0.79, 0.77, 0.74, 0.70])
    results = list(repeat(means, repetitions=300, seed=500_000))
    assert {r.group_method for r in results} == {GROUP_METHOD}
    assert {(r.pairwise_basis, r.pairwise_df, r.pairwise_family) for r in results} == {
        ("tasks", N_TASKS - 1, 10)
    }
    coverage = np.mean([held_at_once(r, means) for r in results])
    assert coverage >= 0.90  # measured 0.947 (Bonferroni's bound: 0.95)
    # each pair alone, at its own Bonferroni level 1 - 0.05 / 10, misses at most 0.005
    # (plus Monte Carlo error): no pair carries the whole miss rate
    per_pair = np.mean(
        [
            [p.ci[0] <= t <= p.ci[1] for p, t in zip(r.pairwise, truths(r, means), strict=True)]
            for r in results
        ],
        axis=0,
    )
    assert per_pair.min() >= 0.98  # measured: the lowest pair 0.987
    # and the widths are each pair's: not one shared width
    widths = [{round(p.ci[1] - p.ci[0], 12) for p in r.pairwise} for r in results]
    assert np.mean([len(w) for w in widths]) == 10


def test_a_planted_null_gives_a_false_better_or_worse_within_the_nominal_level():
    # 5 teams with equal true means on 6 tasks: any "better" or "worse" is false.
    means = np.full(5, 0.8)
    results = list(repeat(means, repetitions=1000, seed=100_000))
    rate = np.mean([false_direction(r, means) for r in results])
    assert rate <= ALPHA  # measured 0.044 (Bonferroni's bound: 0.05)
    # a team put outside group 1 is a false "better" of the leader's: no more often
    outside = np.mean([any(e.group != 1 for e in r.entries) for r in results])
    assert outside <= rate  # measured 0.038


def test_tied_best_teams_stay_in_group_1_and_clearly_worse_ones_leave_it():
    means = [0.8, 0.8, 0.8, 0.7, 0.68]
    results = list(repeat(means, repetitions=500, seed=200_000))
    best_outside = [any(e.group != 1 for e in r.entries[:3]) for r in results]
    assert np.mean(best_outside) <= ALPHA  # measured 0.024
    worse_inside = [any(e.group == 1 for e in r.entries[3:]) for r in results]
    assert np.mean(worse_inside) <= 0.10  # informative: a gap of 0.1 is seen (measured 0.006)


def test_rank_intervals_hold_every_true_rank_at_once():
    means = np.array([0.80, 0.79, 0.77, 0.74, 0.70])
    true_rank = 1 + (means[None, :] > means[:, None]).sum(axis=1)
    held = []
    widths = []
    for result in repeat(means, repetitions=300, seed=300_000):
        intervals = [e.rank_interval for e in result.entries]
        held.append(all(lo <= r <= hi for (lo, hi), r in zip(intervals, true_rank, strict=True)))
        widths.append(np.mean([hi - lo for lo, hi in intervals]))
    assert np.mean(held) >= 0.90  # measured 1.0
    assert np.mean(widths) < 3.0  # not merely "any rank" (measured 2.3 of the 4 possible)


def test_planted_equivalence_is_found_and_no_verdict_is_wrong():
    # Precise scores (small interaction, small row noise), a margin of 0.005: teams 0 and 1
    # are truly equal, 2 is 0.003 below (inside the margin), 3 is 0.02 below.
    means = np.array([0.800, 0.800, 0.797, 0.780])
    wrong, equal_pair, inside_pair = [], [], []
    for result in repeat(means, repetitions=300, seed=400_000, interaction=0.0005, row=0.0005):
        index = {e.team: i for i, e in enumerate(result.entries)}
        bad = false_direction(result, means)
        for pair, truth in zip(result.pairwise, truths(result, means), strict=True):
            bad |= pair.verdict == "equivalent" and abs(truth) > result.margin
            found = pair.verdict == "equivalent"
            if {pair.a, pair.b} == {"team0", "team1"}:
                equal_pair.append(found)
            if {index[pair.a], index[pair.b]} in ({0, 2}, {1, 2}):
                inside_pair.append(found)
        wrong.append(bad)
    assert np.mean(wrong) <= ALPHA  # measured 0.0
    assert np.mean(equal_pair) >= 0.95  # the stated power: measured 1.0
    # 0.003 apart, inside the margin of 0.005 but near its edge: found less often
    assert np.mean(inside_pair) >= 0.60  # measured 0.69


def test_identical_predictions_are_equivalent_every_time_whatever_the_noise():
    # Teams 0 and 1 submit the same predictions; the track is as noisy as in the tests
    # above, where no other pair could be shown equivalent within 0.005.
    means = np.array([0.80, 0.80, 0.79, 0.75])
    verdicts, others = [], []
    for result in repeat(means, repetitions=200, seed=600_000, identical=[(0, 1)]):
        for pair in result.pairwise:
            if {pair.a, pair.b} == {"team0", "team1"}:
                verdicts.append((pair.difference, pair.ci, pair.verdict))
            else:
                others.append(pair.verdict)
        assert result.entries[0].group == result.entries[1].group
    assert set(verdicts) == {(0.0, (0.0, 0.0), "equivalent")}
    assert "equivalent" not in others


# --- these tasks' rows: fewer than 3 tasks ---

N_TEST_ROWS = 600
B = 1000  # the platform's row resamples per task (leaderboard.statistics.first_samples)


def row_tasks(accuracies, rng, *, n_tasks, correlation=0.6):
    """``n_tasks`` fixed tasks, on each a fresh test set of ``N_TEST_ROWS`` rows: team i is
    right on a row with probability ``accuracies[t][i]`` (a shared latent difficulty makes
    the teams' errors correlated), and B paired row resamples of its accuracy."""
    tasks = []
    for t in range(n_tasks):
        accuracy = np.asarray(accuracies[t], dtype=float)
        shared = rng.normal(0, 1, (N_TEST_ROWS, 1))
        own = rng.normal(0, 1, (N_TEST_ROWS, accuracy.size))
        latent = correlation * shared + np.sqrt(1 - correlation**2) * own
        right = latent < norm.ppf(accuracy)
        # each row's teams' rights as the bits of one byte: one gather for every team
        bits = (right << np.arange(accuracy.size)).sum(axis=1).astype(np.uint8)
        drawn = bits[rng.integers(0, N_TEST_ROWS, (B, N_TEST_ROWS))]
        resamples = (
            np.column_stack([((drawn >> k) & 1).sum(axis=1) for k in range(accuracy.size)])
            / N_TEST_ROWS
        )
        tasks.append(TrackTaskScores(task=f"t{t}", point=right.mean(axis=0), resamples=resamples))
    return tasks


def row_results(accuracies, *, n_tasks, repetitions, seed):
    teams = [f"team{i}" for i in range(len(accuracies[0]))]
    for r in range(repetitions):
        rng = np.random.default_rng(seed + r)
        yield who_is_first(
            teams=teams,
            tasks=row_tasks(accuracies, rng, n_tasks=n_tasks),
            alpha=ALPHA,
            n_resamples=B,
            seed=r,
        )


def test_on_one_or_two_tasks_the_row_intervals_hold_the_true_differences_at_once():
    accuracies = [[0.82, 0.80, 0.80, 0.74], [0.70, 0.72, 0.66, 0.70]]
    for n_tasks, seed in ((1, 700_000), (2, 710_000)):
        means = np.mean(accuracies[:n_tasks], axis=0)  # the truth on these tasks' rows
        results = list(row_results(accuracies, n_tasks=n_tasks, repetitions=300, seed=seed))
        assert {(r.group_method, r.pairwise_basis, r.pairwise_df) for r in results} == {
            (ROWS_METHOD, "rows", None)
        }
        assert "about these tasks' rows only" in results[0].pairwise_note
        coverage = np.mean([held_at_once(r, means) for r in results])
        assert coverage >= 0.90, n_tasks  # measured 0.943 (one task), 0.957 (two)


def test_on_one_task_a_planted_null_gives_a_false_better_within_the_nominal_level():
    accuracies = [[0.8, 0.8, 0.8, 0.8]]
    results = list(row_results(accuracies, n_tasks=1, repetitions=500, seed=800_000))
    rate = np.mean([false_direction(r, np.array(accuracies[0])) for r in results])
    assert rate <= ALPHA  # measured 0.048 (0.044 in 2,000 repetitions)
