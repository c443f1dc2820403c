"""Setting a task's public board mode (docs/organizers/ladder.md): the console's one write of
it, audited, with the board rebuilt under the new mode in the same transaction."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db import transaction

from challenges.audit import audit_record
from common import board_modes
from datasets.models import Task
from kinds.boards import board_mode_problem
from leaderboard.boards.ladder import BoardModeRefused
from leaderboard.refresh import boards_changed_after_commit, task_leaderboard_refresh
from leaderboard.stored_board import history_cache_key
from runtime.localredis import cache_unavailable_errors

logger = logging.getLogger(__name__)


def task_board_mode_set(
    *,
    task: Task,
    mode: str,
    bootstraps: int | None = None,
    bayes_factor: float | None = None,
    actor: Any,
    reason: str = "",
) -> bool:
    """Set ``task``'s public board mode (and the bootstrap rule's settings), audited as
    ``task.public_board`` with the values before and after, and rebuild its board in the
    same transaction: every team's entries are weighed again under the new mode, so no
    reader ever sees the old mode's figures under the new one. False when nothing changed;
    :class:`BoardModeRefused` when the task's metric cannot run ``mode`` or a setting is
    out of its range."""
    problem = board_mode_problem(
        kind=task.kind, metric=task.primary_metric, classes=task.classes or [], mode=mode
    )
    bootstraps = task.ladder_bootstraps if bootstraps is None else int(bootstraps)
    bayes_factor = task.ladder_bayes_factor if bayes_factor is None else float(bayes_factor)
    if not board_modes.MIN_BOOTSTRAPS <= bootstraps <= board_modes.MAX_BOOTSTRAPS:
        problem = (
            f"the bootstraps must be between {board_modes.MIN_BOOTSTRAPS:,} and "
            f"{board_modes.MAX_BOOTSTRAPS:,}"
        )
    elif not (np.isfinite(bayes_factor) and bayes_factor >= 1):
        problem = "the Bayes factor threshold must be a number of at least 1"
    if problem:
        raise BoardModeRefused(problem)
    fields = ("public_board", "ladder_bootstraps", "ladder_bayes_factor")
    before = {name: getattr(task, name) for name in fields}
    after = dict(zip(fields, (mode, bootstraps, bayes_factor), strict=True))
    if before == after:
        return False
    with transaction.atomic():
        Task.objects.filter(pk=task.pk).update(**after)
        for name, value in after.items():
            setattr(task, name, value)
        audit_record(
            actor=actor,
            action="task.public_board",
            obj=task,
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
            reason=reason,
        )
        task_leaderboard_refresh(task_id=task.pk)
        # The mode is part of every cached view of the board (its payload's ``mode``, the
        # history chart of shown scores), changed entries or not.
        boards_changed_after_commit(task_id=task.pk, track_id=task.track_id)
        transaction.on_commit(lambda: _history_forget(history_cache_key(task_id=task.pk)))
    return True


def _history_forget(key: str) -> None:
    try:
        cache.delete(key)
    except cache_unavailable_errors():
        logger.warning("the history chart behind %s was not invalidated", key)
