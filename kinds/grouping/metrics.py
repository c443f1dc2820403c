"""Metrics of grouping tasks (docs/architecture.md §11): records put into clusters,
judged as sets.

``truth`` gives each record an entity code, ``pred`` a cluster code. Over the pairs of
records that share a cluster (a record alone in its cluster forms no pair):

- pairwise precision = pairs in the same cluster and the same entity / pairs in the same
  cluster; pairwise recall = the same / pairs in the same entity; pairwise F1 (primary)
  = 2 both / (cluster pairs + entity pairs). 0/0 gives 0, as for matching's F1.
- B-cubed: per record r, precision_r = |C(r) ∩ E(r)| / |C(r)| and recall_r =
  |C(r) ∩ E(r)| / |E(r)|; B-cubed precision and recall are their means over records and
  ``bcubed_f1`` their harmonic mean.

All from the contingency counts n_ij (records of entity i in cluster j): one ``unique``
over (entity, cluster) codes, sums of n choose 2, no pair is ever enumerated.
"""

from __future__ import annotations

import numpy as np

from common.splits import split_masks

METRICS = ("pairwise_f1", "pairwise_precision", "pairwise_recall", "bcubed_f1")


def _pairs(counts: np.ndarray) -> float:
    counts = counts.astype(np.float64)
    return float((counts * (counts - 1)).sum() / 2)


def grouping_metrics(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """The four grouping metrics of one set of records; an empty dict when there is none."""
    truth = np.asarray(truth, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    n = truth.size
    if n == 0:
        return {}
    _, entity = np.unique(truth, return_inverse=True)
    _, cluster = np.unique(pred, return_inverse=True)
    n_clusters = int(cluster.max()) + 1
    cells, n_ij = np.unique(entity.astype(np.int64) * n_clusters + cluster, return_counts=True)
    cell_entity, cell_cluster = cells // n_clusters, cells % n_clusters
    entity_size = np.bincount(entity)
    cluster_size = np.bincount(cluster)

    both = _pairs(n_ij)
    cluster_pairs = _pairs(cluster_size)
    entity_pairs = _pairs(entity_size)
    precision = both / cluster_pairs if cluster_pairs else 0.0
    recall = both / entity_pairs if entity_pairs else 0.0
    f1 = 2 * both / (cluster_pairs + entity_pairs) if both else 0.0

    squares = n_ij.astype(np.float64) ** 2
    b_precision = float((squares / cluster_size[cell_cluster]).sum() / n)
    b_recall = float((squares / entity_size[cell_entity]).sum() / n)
    return {
        "pairwise_f1": f1,
        "pairwise_precision": precision,
        "pairwise_recall": recall,
        "bcubed_f1": 2 * b_precision * b_recall / (b_precision + b_recall),
    }


def grouping_metrics_by_split(
    truth: np.ndarray, pred: np.ndarray, is_public: np.ndarray
) -> dict[str, dict[str, float]]:
    """``{"all"|"public"|"private": metrics}``; clusters and entities restricted to the split."""
    return {
        split: grouping_metrics(*(a if mask is None else a[mask] for a in (truth, pred)))
        for split, mask in split_masks(is_public).items()
    }


def memberships_right(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Per record, whether its cluster holds exactly the records of its entity (its
    B-cubed precision and recall are both 1): the membership the champion gate compares
    (docs/organizers/champion-gate.md). Constant over an entity's records: one right record makes
    its cluster its entity, so every record of the entity is right too."""
    truth = np.asarray(truth, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    if truth.size == 0:
        return np.zeros(0, dtype=bool)
    _, entity = np.unique(truth, return_inverse=True)
    _, cluster = np.unique(pred, return_inverse=True)
    n_clusters = int(cluster.max()) + 1
    _, cell, n_ij = np.unique(
        entity.astype(np.int64) * n_clusters + cluster, return_inverse=True, return_counts=True
    )
    together = n_ij[cell]
    return (together == np.bincount(entity)[entity]) & (together == np.bincount(cluster)[cluster])
