"""The entity bootstrap of grouping tasks against a naive implementation
(docs/architecture.md §11).

The naive code builds every resample explicitly: each drawn copy of an entity brings its
records, pairs are enumerated one by one, and two copies of one entity never pair. The same
draws (``resample_group_counts``) feed both, so equal samples also prove the unit drawn is
the entity.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinds.grouping.metrics import grouping_metrics
from leaderboard.core.bootstrap import bootstrap_leaderboard, point_scores, resample_group_counts


def naive_pairwise_f1(records: list[tuple[int, int, int]]) -> float:
    """``records`` are (entity, copy, cluster); copies of one entity never pair."""
    tp = true_pairs = predicted = 0
    for (e1, c1, k1), (e2, c2, k2) in itertools.combinations(records, 2):
        if e1 == e2 and c1 != c2:
            continue
        same_entity, same_cluster = e1 == e2, k1 == k2
        true_pairs += same_entity
        predicted += same_cluster
        tp += same_entity and same_cluster
    return 2 * tp / (true_pairs + predicted) if tp else 0.0


def naive_entity_bootstrap(entities, clusters, seed, n_resamples) -> np.ndarray:
    codes = np.unique(entities, return_inverse=True)[1]
    n_entities = int(codes.max()) + 1
    out = []
    for counts in resample_group_counts(n_groups=n_entities, seed=seed, n_resamples=n_resamples):
        records = [
            (e, copy, int(clusters[i]))
            for e in range(n_entities)
            for copy in range(int(counts[e]))
            for i in np.flatnonzero(codes == e)
        ]
        out.append(naive_pairwise_f1(records))
    return np.array(out)


@settings(deadline=None, max_examples=40)
@given(
    st.integers(1, 14).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, 4), min_size=n, max_size=n),
            st.lists(st.integers(0, 4), min_size=n, max_size=n),
            st.lists(st.integers(0, 4), min_size=n, max_size=n),
            st.integers(0, 2**31),
        )
    )
)
def test_samples_equal_the_naive_entity_bootstrap(case):
    entities, first, second = (np.array(a) for a in case[:3])
    seed = case[3]
    result = bootstrap_leaderboard(
        y=entities,
        preds=[first, second],
        kind="grouping",
        n_resamples=12,
        seed=seed,
        keep_samples=True,
    )
    for column, clusters in enumerate((first, second)):
        want = naive_entity_bootstrap(entities, clusters, seed, 12)
        assert result.samples[:, column] == pytest.approx(want)
        assert result.entries[column].score == pytest.approx(
            grouping_metrics(entities, clusters)["pairwise_f1"]
        )


def test_point_scores_are_the_boards_pairwise_f1_on_the_rows_considered():
    rng = np.random.default_rng(3)
    entities, clusters = rng.integers(0, 30, 200), rng.integers(0, 25, 200)
    rows = rng.random(200) < 0.6
    got = point_scores(y=entities, preds=[clusters], kind="grouping", rows=rows)
    want = grouping_metrics(entities[rows], clusters[rows])["pairwise_f1"]
    assert got[0] == pytest.approx(want)


def test_a_perfect_clustering_scores_one_in_every_resample():
    entities = np.repeat(np.arange(20), 4)
    result = bootstrap_leaderboard(
        y=entities, preds=[entities + 100], kind="grouping", n_resamples=200, keep_samples=True
    )
    assert np.all(result.samples == 1.0)
    assert (result.entries[0].score_low, result.entries[0].score_high) == (1.0, 1.0)


def row_bootstrap_sd(entities, clusters, seed, n_resamples) -> float:
    """For contrast: records drawn one by one (each copy a record of its entity)."""
    rng = np.random.default_rng(seed)
    n = entities.size
    values = []
    for _ in range(n_resamples):
        drawn = rng.integers(0, n, n)
        values.append(grouping_metrics(entities[drawn], clusters[drawn])["pairwise_f1"])
    return float(np.std(values))


def test_the_unit_is_the_entity_not_the_record():
    # 30 entities of 50 records: 15 clustered perfectly, 15 split into singletons. Which
    # entities a resample draws moves F1 a lot; which records it draws much less (and less
    # the more records an entity has).
    entities = np.repeat(np.arange(30), 50)
    clusters = np.where(entities < 15, entities, 1000 + np.arange(entities.size))
    result = bootstrap_leaderboard(
        y=entities, preds=[clusters], kind="grouping", n_resamples=300, keep_samples=True
    )
    entity_sd = float(np.std(result.samples[:, 0]))
    row_sd = row_bootstrap_sd(entities, clusters, seed=0, n_resamples=300)
    assert entity_sd > 2.5 * row_sd, (entity_sd, row_sd)
    low, high = result.entries[0].score_low, result.entries[0].score_high
    assert low < result.entries[0].score < high
    assert high - low > 0.2  # about 15 +- 2.7 good entities of 30


def test_groups_are_refused_for_grouping():
    with pytest.raises(ValueError, match="entities"):
        bootstrap_leaderboard(
            y=np.array([0, 0, 1]),
            preds=[np.array([0, 0, 1])],
            kind="grouping",
            groups=np.array([0, 1, 2]),
        )
