"""Which way is better for each metric: the one registry that pages, the API and the boards
read. Each kind states its own metrics (``TaskKind.metrics``); the ones every kind may get
are here: OPIS and the flip rates (docs/architecture.md §11). Unknown names read as
higher-is-better, flagged ``known=False``.
"""

from __future__ import annotations

from kinds.base import Direction, Metric
from kinds.registry import KINDS

# OPIS is threshold consistency, not quality: how far each group's F1-against-threshold
# curve strays from the pooled one. A predictor that says little is consistent (a constant
# one perfectly so), so a trivial reference can score lower than a good model: the label and
# the description say what it measures, and its "lower" reads "more consistent".
OPIS_DESCRIPTION = (
    "Threshold consistency (OPIS): how far each group's F1 against the decision threshold"
    " strays from that of all rows pooled; lower is more consistent. It does not measure how"
    " good the predictions are: a constant predictor is perfectly consistent."
)
SHARED = (
    Metric(
        "opis",
        "OPIS (threshold consistency)",
        False,
        description=OPIS_DESCRIPTION,
        better_means="more consistent",
    ),
    Metric("nfr", "NFR", False),
    Metric("pfr", "PFR", True),
)

METRICS: dict[str, Metric] = {}
for _metric in (*(m for kind in KINDS.values() for m in kind.metrics), *SHARED):
    _known = METRICS.setdefault(_metric.name, _metric)
    if _known != _metric:
        raise ValueError(f"two kinds define the metric {_metric.name!r} differently")


def metric_info(name: str) -> Metric:
    """The registry entry of ``name``; an unknown metric reads as higher-is-better."""
    return METRICS.get(name) or Metric(name, name, True, known=False)


def metric_direction(name: str) -> Direction:
    return metric_info(name).direction


def describe_metrics(names: list[str] | tuple[str, ...]) -> dict[str, dict[str, object]]:
    """``{name: {"label", "direction", "higher_is_better"}}`` for the API."""
    return {name: metric_info(name).describe() for name in names}
