"""Pairwise F1 of grouping tasks under an entity bootstrap (``leaderboard.core.bootstrap``).

The unit resampled is the **entity** (the solution's entity id of each record), never the
record: resample ``b`` draws the G entities of the rows considered uniformly with
replacement (the same draws for every entry, ``resample_group_counts``), and entity ``e`` is
drawn ``w_e`` times. Each drawn copy of an entity brings all of its records, with the
clusters the submission gave them. The pair counts of the resample weigh every pair of the
original records by how often it occurs among the copies:

- a pair inside entity ``e`` (a true pair; a true positive when both records share a
  cluster) counts ``w_e`` times, once per copy;
- a pair of records of two different entities ``e`` and ``f`` in one cluster (a false
  positive) counts ``w_e * w_f`` times, once per pair of copies;
- records of two copies of the same entity are never paired with each other (a copy is the
  same entity drawn again, not a new one), so a perfect submission scores 1 in every
  resample.

Pairwise F1 = 2 TP / (true pairs + predicted pairs), 0 when TP = 0, exactly as
``kinds.grouping.metrics``; with every ``w_e = 1`` it is the board's score. With ``n_ec`` the
records of entity e in cluster c: TP = sum_e w_e sum_c C(n_ec, 2), true pairs = sum_e w_e
C(n_e, 2), and the cross-entity pairs are sum_c [(sum_e w_e n_ec)^2 - sum_e w_e^2 n_ec^2] / 2,
so a resample costs one pass over the (entity, cluster) cells of the clusters that mix
entities, never over pairs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class _Cells:
    """One entry's cells of mixed clusters (sorted by cluster) and per-entity sums.

    A cluster holding one entity only has no cross-entity pair (its square cancels its own
    term), so only clusters with two entities or more are kept for the cross term.
    """

    entity: np.ndarray  # entity code of each cell of a mixed cluster
    count: np.ndarray  # n_ec, float64
    starts: np.ndarray  # first cell of each mixed cluster
    within: np.ndarray  # per entity: sum_c C(n_ec, 2), pairs inside it sharing a cluster
    squares: np.ndarray  # per entity: sum over mixed clusters of n_ec^2


def _cells(entities: np.ndarray, n_entities: int, clusters: np.ndarray) -> _Cells:
    _, cluster = np.unique(clusters, return_inverse=True)
    keys, counts = np.unique(
        cluster.astype(np.int64) * n_entities + entities, return_counts=True
    )  # sorted by cluster, then entity
    cell_cluster, cell_entity = keys // n_entities, keys % n_entities
    n = counts.astype(np.float64)
    within = np.bincount(cell_entity, weights=n * (n - 1) / 2, minlength=n_entities)
    first = np.r_[True, cell_cluster[1:] != cell_cluster[:-1]]
    cells_in_cluster = np.diff(np.r_[np.flatnonzero(first), keys.size])
    mixed = np.repeat(cells_in_cluster > 1, cells_in_cluster)
    entity, n, first = cell_entity[mixed], n[mixed], first[mixed]
    return _Cells(
        entity=entity,
        count=n,
        starts=np.flatnonzero(first),
        within=within,
        squares=np.bincount(entity, weights=n * n, minlength=n_entities),
    )


def _f1(weights: np.ndarray, cells: _Cells, true_pairs: np.ndarray) -> np.ndarray:
    """Pairwise F1 of one entry for each line of ``weights`` (resamples x entities)."""
    tp = weights @ cells.within
    cross = np.zeros_like(tp)
    if cells.count.size:
        per_cluster = np.add.reduceat(weights[:, cells.entity] * cells.count, cells.starts, axis=1)
        cross = ((per_cluster * per_cluster).sum(axis=1) - (weights * weights) @ cells.squares) / 2
    denominator = true_pairs + tp + cross
    out = np.zeros_like(tp)
    np.divide(2 * tp, denominator, out=out, where=tp > 0)
    return out


def grouping_resample_scores(
    *,
    entities: np.ndarray,
    n_entities: int,
    clusters: Sequence[np.ndarray],
    draws: Iterator[np.ndarray],
    n_resamples: int,
    chunk_bytes: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(point F1 per entry, resamples x entries F1) for entity codes ``0..n_entities-1``.

    ``draws`` yields how often each entity is drawn, one vector per resample.
    """
    entities = np.asarray(entities, dtype=np.int64)
    sizes = np.bincount(entities, minlength=n_entities).astype(np.float64)
    true_per_entity = sizes * (sizes - 1) / 2
    cells = [_cells(entities, n_entities, np.asarray(c)) for c in clusters]
    ones = np.ones((1, n_entities), dtype=np.float64)
    point = np.array([_f1(ones, c, ones @ true_per_entity)[0] for c in cells])
    widest = max([n_entities, *(c.count.size for c in cells)])
    chunk = max(1, min(n_resamples, chunk_bytes // (8 * 3 * widest)))
    samples = np.empty((n_resamples, len(cells)), dtype=np.float64)
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        weights = np.empty((stop - start, n_entities), dtype=np.float64)
        for line in weights:
            line[:] = next(draws)
        true_pairs = weights @ true_per_entity
        for e, c in enumerate(cells):
            samples[start:stop, e] = _f1(weights, c, true_pairs)
    return point, samples


def _pair_terms(cells: _Cells, n_entities: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Per entity, its pairs sharing a cluster (``within``) and the derivative of the
    cross-entity pairs by its weight at every weight 1 (each cross pair of a cluster counts
    for both of its entities: ``n_ec * (n_c - n_ec)``); and the cross pairs themselves."""
    if not cells.count.size:
        return cells.within, np.zeros(n_entities), 0.0
    per_cluster = np.add.reduceat(cells.count, cells.starts)
    sizes = np.repeat(per_cluster, np.diff(np.r_[cells.starts, cells.count.size]))
    cross_by = np.bincount(
        cells.entity, weights=cells.count * (sizes - cells.count), minlength=n_entities
    )
    cross = float((per_cluster * per_cluster).sum() - cells.squares.sum()) / 2
    return cells.within, cross_by, cross


def grouping_paired_linearization(
    *, entities: np.ndarray, n_entities: int, new: np.ndarray, old: np.ndarray
) -> tuple[float, np.ndarray]:
    """Pairwise F1 of ``new`` against ``old`` to first order in the entities' weights (the
    entity bootstrap's, above), at the midpoint of their pair counts: F1 = 2 TP / (T + TP +
    X) with T the true pairs, TP the pairs shared by a cluster and an entity, X the
    cross-entity pairs of a cluster. Returns the first-order change of F1 (``dF/dTP`` times
    the change of TP plus ``dF/dX`` times the change of X) and each entity's influence on
    it (the same derivatives times the change of its terms: its pairs sharing a cluster,
    and the derivative of X by its weight, ``n_ec (n_c - n_ec)`` over its clusters); the
    true pairs are the same for both and drop out."""
    entities = np.asarray(entities, dtype=np.int64)
    sizes = np.bincount(entities, minlength=n_entities).astype(np.float64)
    true_pairs = float((sizes * (sizes - 1) / 2).sum())
    terms = [
        _pair_terms(_cells(entities, n_entities, np.asarray(c)), n_entities) for c in (new, old)
    ]
    (within_new, by_new, cross_new), (within_old, by_old, cross_old) = terms
    tp_new, tp_old = float(within_new.sum()), float(within_old.sum())
    tp, cross = (tp_new + tp_old) / 2, (cross_new + cross_old) / 2
    denominator = true_pairs + tp + cross
    if denominator <= 0:  # no pair anywhere: F1 is 0 for both
        return 0.0, np.zeros(n_entities)
    d_tp = 2 * (true_pairs + cross) / denominator**2
    d_cross = -2 * tp / denominator**2
    delta = d_tp * (tp_new - tp_old) + d_cross * (cross_new - cross_old)
    influence = d_tp * (within_new - within_old) + d_cross * (by_new - by_old)
    return float(delta), influence
