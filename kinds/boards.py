"""Which public board modes a task can run (docs/organizers/ladder.md): the one home of the rule.

The ladder modes decide with the statistic the task's kind gives its primary metric
(``TaskKind.ladder_statistic``): ``ladder-bootstrap`` resamples it, ``ladder`` also needs
its first-order expansion (any statistic of sums over rows has one; a statistic of
entities only when its kind writes it, ``EntityStatistic.paired_linearization``); so does
``ladder-step``, which also compares scores with a fixed step in the metric's units (0.01 on
2,000 public rows) and so runs only for metrics scored between 0 and 1 (:data:`UNIT_SCALE`:
an RMSE has the unit of its target). A metric without a statistic keeps its board plain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from common import board_modes
from kinds.base import EntityStatistic
from kinds.registry import kind_get

# Metrics whose scores lie in [0, 1] (R²: at most 1), where a step of 0.01 means the same on
# every task: ``ladder-step`` runs on these.
UNIT_SCALE = frozenset({"accuracy", "macro_f1", "f1", "average_precision", "r2", "pairwise_f1"})


def ladder_supported(statistic: Any, mode: str, metric: str | None = None) -> bool:
    """Whether ``mode`` can decide with ``statistic`` (``plain`` needs none); ``ladder-step``
    also needs ``metric`` in :data:`UNIT_SCALE`."""
    if mode == board_modes.PLAIN:
        return True
    if statistic is None or mode not in board_modes.MODES:
        return False
    if mode == board_modes.LADDER_STEP and metric not in UNIT_SCALE:
        return False
    if mode in board_modes.ROUNDED and isinstance(statistic, EntityStatistic):
        return type(statistic).paired_linearization is not EntityStatistic.paired_linearization
    return True


def board_mode_problem(*, kind: str, metric: str, classes: Sequence[str], mode: str) -> str | None:
    """Why a ``kind`` task ranked by ``metric`` cannot run its public board in ``mode``
    (in words, for the console and the import), or None."""
    if mode not in board_modes.MODES:
        return f"unknown board mode {mode!r}: choose one of {', '.join(board_modes.MODES)}"
    task_kind = kind_get(kind)
    name = metric or task_kind.primary
    if ladder_supported(task_kind.ladder_statistic(name, classes=classes), mode, name):
        return None
    if mode == board_modes.LADDER_STEP and name not in UNIT_SCALE:
        return (
            f"the {mode} mode steps by 0.01 of a score between 0 and 1, and {name} is not "
            "one: choose ladder or ladder-bootstrap"
        )
    return (
        f"the {mode} mode cannot decide on {name}: the metric has no per-row statistic to "
        "weigh two entries with; keep this task's board plain"
    )


def initial_board_mode(*, kind: str, metric: str, classes: Sequence[str], default: str) -> str:
    """The mode a new task starts in: ``default`` when it can run, else the first of the
    modes after it in ``board_modes.FALLBACKS`` that can (``plain`` at last)."""
    order = board_modes.FALLBACKS
    candidates = (default, *order[order.index(default) + 1 :]) if default in order else (default,)
    for mode in candidates:
        if not board_mode_problem(kind=kind, metric=metric, classes=classes, mode=mode):
            return mode
    return board_modes.PLAIN
