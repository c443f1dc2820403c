"""Which way is better for each metric: the one registry that pages and the API read.

Every primary metric is higher-is-better (DESIGN §4), so rankings never consult this; it
exists so that every metric shown (log-loss, OPIS and the negative flip rate are
lower-is-better) says which way to read it. Unknown names default to higher-is-better and
are flagged with ``known=False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["higher", "lower"]


@dataclass(frozen=True, slots=True)
class MetricInfo:
    name: str
    label: str
    higher_is_better: bool
    known: bool = True

    @property
    def direction(self) -> Direction:
        return "higher" if self.higher_is_better else "lower"

    def describe(self) -> dict[str, object]:
        """The JSON description the API gives next to a metric's values."""
        return {
            "label": self.label,
            "direction": self.direction,
            "higher_is_better": self.higher_is_better,
        }


METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo("accuracy", "Accuracy", True),
        MetricInfo("macro_f1", "Macro-F1", True),
        MetricInfo("log_loss", "Log-loss", False),
        MetricInfo("f1", "F1", True),
        MetricInfo("precision", "Precision", True),
        MetricInfo("recall", "Recall", True),
        MetricInfo("average_precision", "Avg. precision", True),
        MetricInfo("opis", "OPIS", False),
        MetricInfo("nfr", "NFR", False),
        MetricInfo("pfr", "PFR", True),
        MetricInfo("pairwise_precision", "Pairwise precision", True),
        MetricInfo("pairwise_recall", "Pairwise recall", True),
        MetricInfo("pairwise_f1", "Pairwise F1", True),
        MetricInfo("bcubed_f1", "B-cubed F1", True),
    )
}


def metric_info(name: str) -> MetricInfo:
    """The registry entry of ``name``; an unknown metric reads as higher-is-better."""
    return METRICS.get(name) or MetricInfo(name, name, True, known=False)


def metric_direction(name: str) -> Direction:
    return metric_info(name).direction


def describe_metrics(names: list[str] | tuple[str, ...]) -> dict[str, dict[str, object]]:
    """``{name: {"label", "direction", "higher_is_better"}}`` for the API."""
    return {name: metric_info(name).describe() for name in names}
