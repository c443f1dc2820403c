"""Which public board modes a task can run (docs/organizers/ladder.md): the one home of the rule.

The ladder modes decide with the statistic the task's kind gives its primary metric
(``TaskKind.ladder_statistic``): ``ladder-bootstrap`` resamples it, ``ladder`` also needs
its first-order expansion (any statistic of sums over rows has one; a statistic of
entities only when its kind writes it, ``EntityStatistic.paired_linearization``). A metric
without a statistic keeps its board plain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from common import board_modes
from kinds.base import EntityStatistic
from kinds.registry import kind_get


def ladder_supported(statistic: Any, mode: str) -> bool:
    """Whether ``mode`` can decide with ``statistic`` (``plain`` needs none)."""
    if mode == board_modes.PLAIN:
        return True
    if statistic is None or mode not in board_modes.MODES:
        return False
    if mode == board_modes.LADDER and isinstance(statistic, EntityStatistic):
        return type(statistic).paired_linearization is not EntityStatistic.paired_linearization
    return True


def board_mode_problem(
    *, kind: str, metric: str, classes: Sequence[str], mode: str
) -> str | None:
    """Why a ``kind`` task ranked by ``metric`` cannot run its public board in ``mode``
    (in words, for the console and the import), or None."""
    if mode not in board_modes.MODES:
        return f"unknown board mode {mode!r}: choose one of {', '.join(board_modes.MODES)}"
    task_kind = kind_get(kind)
    name = metric or task_kind.primary
    if ladder_supported(task_kind.ladder_statistic(name, classes=classes), mode):
        return None
    return (
        f"the {mode} mode cannot decide on {name}: the metric has no per-row statistic to "
        "weigh two entries with; keep this task's board plain"
    )


def initial_board_mode(*, kind: str, metric: str, classes: Sequence[str], default: str) -> str:
    """The mode a new task starts in: ``default`` when it can run, else ``plain``."""
    problem = board_mode_problem(kind=kind, metric=metric, classes=classes, mode=default)
    return board_modes.PLAIN if problem else default
