"""Task kinds: one module per kind, found by name (docs/architecture.md §4, §11;
docs/decisions/0017-task-kinds-one-module-per-kind.md).

``kind_get("matching")`` returns the kind's :class:`~kinds.base.TaskKind`, which the
metric, ranking and bundle cores ask instead of branching on a kind's name; every metric
states its direction once (``kinds.metrics``). Pure: numpy, pyarrow and ``common`` only.
"""

from __future__ import annotations

from kinds.base import Metric, TaskKind
from kinds.metrics import describe_metrics, metric_direction, metric_info
from kinds.registry import UnknownKind, kind_choices, kind_get, kind_names, kinds_in_words

__all__ = [
    "Metric",
    "TaskKind",
    "UnknownKind",
    "describe_metrics",
    "kind_choices",
    "kind_get",
    "kind_names",
    "kinds_in_words",
    "metric_direction",
    "metric_info",
]
