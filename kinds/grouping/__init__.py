"""Record grouping: records that form entities (docs/architecture.md §11, the seed's
"sets of products that are variants of one another").

- Train and solution give each record an entity id in ``label`` (any text); the entities of
  train and test are disjoint. The test rows are split by whole entities.
- A submission gives each record a cluster id: ``id,cluster``.
- Metrics (``kinds.grouping.metrics``): ``pairwise_f1`` (primary), ``pairwise_precision``,
  ``pairwise_recall`` over the pairs of records sharing a cluster, and ``bcubed_f1``.
- Bootstrap: the entity is the unit (``kinds.grouping.bootstrap``).
- No flips on boards and pages (a cluster id is a name, never right or wrong by itself) and
  no OPIS. The champion gate (docs/organizers/champion-gate.md) compares *memberships*: an entity is
  right when one cluster holds exactly its records; it breaks when the champion grouped it
  so and the new entry does not. The entity is the gate's unit (its records flip together).
- Trivial reference: every record alone in its cluster.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from common.arrowtools import as_string, codes_of, is_text, null_mask
from common.refusals import SubmissionInvalid
from common.split import public_entities
from common.wording import EXAMPLES, plural
from common.wording import examples as quoted
from kinds.base import (
    BundleLabels,
    EntityStatistic,
    ExampleIds,
    Metric,
    Predicted,
    TaskKind,
    Truth,
    Values,
)
from kinds.cards import number
from kinds.grouping.bootstrap import grouping_paired_linearization, grouping_resample_scores
from kinds.grouping.metrics import METRICS, grouping_metrics_by_split, memberships_right
from kinds.grouping.stress import FAMILIES
from kinds.handed import absent_problem, codes_problem
from kinds.reading import empty, refuse_rows

SIZE_BUCKETS = (1, 2, 3, 4, 5, 10)  # records per entity: 1, 2, 3, 4, 5-9, 10+


class PairwiseF1(EntityStatistic):
    """Pairwise F1 of the drawn copies of entities (``kinds.grouping.bootstrap``)."""

    resample_scores = staticmethod(grouping_resample_scores)
    paired_linearization = staticmethod(grouping_paired_linearization)


class Grouping(TaskKind):
    name = "grouping"
    label = "record grouping"
    hint = "for records that form entities"
    metrics = (
        Metric("pairwise_f1", "Pairwise F1", True),
        Metric("pairwise_precision", "Pairwise precision", True),
        Metric("pairwise_recall", "Pairwise recall", True),
        Metric("bcubed_f1", "B-cubed F1", True),
    )
    selectable = METRICS
    primary = "pairwise_f1"
    prediction_column = "cluster"
    label_meaning = "entity id"
    has_classes = False
    unit = "entity"
    flips = False
    leak_probe = None  # records of an entity often sit together: row order is no leak here
    flip_noun = "entity"
    mcnemar = False  # cluster ids are no labels
    insight_note = (
        "Grouping task: cluster ids are arbitrary, so flips and a confusion matrix "
        "are not shown; compare submissions by their pairwise and B-cubed scores."
    )

    # --- the bundle --------------------------------------------------------------------

    def bundle_classes(
        self, labels: BundleLabels, problems: list[str], warnings: list[str]
    ) -> tuple[str, ...]:
        train_name, train_labels = labels.train_name, labels.train
        solution_name, solution_labels = labels.solution_name, labels.solution
        if solution_name is None or solution_labels is None:
            return ()
        shared = pc.unique(
            pc.filter(
                solution_labels,
                pc.and_(
                    pc.is_in(solution_labels, value_set=train_labels),
                    pc.is_valid(solution_labels),
                ),
            )
        )
        if len(shared):
            problems.append(
                f"{train_name} and {solution_name} share {plural(len(shared), 'entity id')} in"
                f" 'label': {quoted(shared[:EXAMPLES].to_pylist(), total=len(shared))};"
                " grouping needs the entities of test and train to be disjoint (every record"
                " of an entity on one side)"
            )
        for name, labels in ((train_name, train_labels), (solution_name, solution_labels)):
            counts = pc.value_counts(pc.drop_null(labels)).flatten()
            if len(labels) and not pc.any(pc.greater(counts[1], 1)).as_py():
                warnings.append(
                    f"{name} gives no two records the same entity in 'label'; there are no"
                    " pairs to find"
                )
        return ()

    def public_rows(self, labels: pa.Array, *, public_fraction: float, seed: int) -> np.ndarray:
        return public_entities(labels, public_fraction=public_fraction, seed=seed)

    def card_labels(self, train_labels: pa.Array) -> dict[str, Any]:
        return {"entities": entity_stats(train_labels)}

    def card_view(self, card: Mapping[str, Any]) -> dict[str, Any]:
        entities = card.get("entities") or {}
        return {"label_distinct": int(entities.get("entities") or 0), "entities": entities}

    # --- the truth and a submission ----------------------------------------------------

    def solution_classes(self, classes: Sequence[object]) -> list[str]:
        return []

    def truth(self, labels: pa.ChunkedArray, classes: list[str]) -> np.ndarray:
        return codes_of(labels)

    def read_values(
        self, table: pa.Table, *, classes: list[str], example_ids: ExampleIds
    ) -> Values:
        return Values(pred=cluster_codes(table["cluster"], example_ids))

    def metric_names(self, *, scores_given: bool, opis_groups: bool = False) -> list[str]:
        return list(METRICS)

    def evaluate(self, aligned: Predicted, truth: Truth) -> dict[str, dict[str, float]]:
        return grouping_metrics_by_split(truth.y, aligned.pred, truth.is_public)

    def handed_problem(self, values: Values, *, rows: int, classes: Sequence[str]) -> str | None:
        """Cluster codes in [0, rows): :func:`cluster_codes` numbers a file's distinct
        clusters from 0, and there are at most as many as rows."""
        return absent_problem(proba=values.proba, score=values.score) or codes_problem(
            values.pred, high=max(rows, 1), what="the cluster codes"
        )

    # --- boards ------------------------------------------------------------------------

    def rows_right(self, y: np.ndarray, pred: np.ndarray, options: Mapping[str, Any]) -> np.ndarray:
        raise ValueError("a cluster id is not a label: grouping rows are never right or wrong")

    def gate_flips(
        self, y: np.ndarray, new: np.ndarray, champion: np.ndarray, options: Mapping[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per record: its entity's membership fixed (the new clusters hold exactly its
        records, the champion's did not) or broken (the reverse)."""
        right = memberships_right(y, new)
        was_right = memberships_right(y, champion)
        return right & ~was_right, was_right & ~right

    def flip_units(self, y: np.ndarray) -> np.ndarray | None:
        return np.asarray(y)

    def outputs_differ(self, new: np.ndarray, champion: np.ndarray) -> np.ndarray:
        """Per record, whether its cluster holds other records in the two partitions
        (cluster names do not matter): a record keeps its cluster exactly when the records
        sharing both its new and its old cluster are all of either."""
        _, a = np.unique(np.asarray(new), return_inverse=True)
        _, b = np.unique(np.asarray(champion), return_inverse=True)
        a, b = a.ravel(), b.ravel()
        _, both = np.unique(
            a.astype(np.int64) * (int(b.max(initial=0)) + 1) + b, return_inverse=True
        )
        size_a, size_b, size_both = np.bincount(a), np.bincount(b), np.bincount(both.ravel())
        both = both.ravel()
        return (size_both[both] != size_a[a]) | (size_both[both] != size_b[b])

    def statistic(self, metric: str) -> PairwiseF1 | None:
        return PairwiseF1() if metric == "pairwise_f1" else None

    def trivial(self, train_labels: pa.ChunkedArray, truth: Truth) -> dict[str, pa.Array]:
        return {"cluster": pa.array(np.arange(len(truth.y)).astype(str))}

    def stress_families(self) -> Mapping[str, Any]:
        return FAMILIES


def cluster_codes(clusters: pa.ChunkedArray, example_ids: ExampleIds) -> np.ndarray:
    """A code (int64) per row, equal for equal cluster ids; any text or integers, not empty."""
    if not (is_text(clusters.type) or pa.types.is_integer(clusters.type)):
        raise SubmissionInvalid(
            f"Column 'cluster' has type {clusters.type}; expected cluster ids (text or integers)."
        )
    blank = null_mask(clusters)
    if is_text(clusters.type):
        blank = blank | empty(as_string(clusters))
    refuse_rows(blank, "an empty cluster", example_ids)
    return codes_of(clusters)


def entity_stats(labels: pa.Array) -> dict[str, Any]:
    """Entities, records per entity (min, mean, median, max, histogram), singletons' share."""
    sizes = pc.value_counts(pc.drop_null(labels)).flatten()[1].to_numpy()
    if not len(sizes):
        return {"entities": 0, "records": 0}
    edges = [*SIZE_BUCKETS, math.inf]
    names = [
        f"{lo}" if hi == lo + 1 else (f"{lo}+" if hi == math.inf else f"{lo}-{hi - 1}")
        for lo, hi in itertools.pairwise(edges)
    ]
    histogram = [
        {"records": name, "entities": int(((sizes >= lo) & (sizes < hi)).sum())}
        for name, (lo, hi) in zip(names, itertools.pairwise(edges), strict=True)
    ]
    singletons = int((sizes == 1).sum())
    return {
        "entities": len(sizes),
        "records": int(sizes.sum()),
        "records_per_entity": {
            "min": int(sizes.min()),
            "mean": number(sizes.mean()),
            "median": number(np.median(sizes)),
            "max": int(sizes.max()),
            "histogram": histogram,
        },
        "singleton_share": number(singletons / len(sizes)),
        "records_in_pairs_share": number(1 - singletons / sizes.sum()),
    }


KIND = Grouping()
