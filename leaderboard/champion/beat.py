"""The champion's beat, each minute (``leaderboard.tasks``): checks that lost their worker
swept, week-old release-check uses forgotten, waiting deciding checks queued where a start
is set, and the verdicts of every task's board entries queued where something changed
(docs/organizers/champion-gate.md). A dead worker's checks are decided here too
(``jobs.holders.when_holder_lost``, registered as this module is imported).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from datasets.models import Task
from jobs import lifecycle, sweeps
from jobs.holders import when_holder_lost
from leaderboard.models import ChampionCheck, ChampionCheckStatus, LeaderboardEntry, TaskChampion

from .budget import release_budget_prune
from .checks import WAITING, weigh_waiting
from .entries import change_entry
from .jobs import CHAMPION_CHECK
from .services import INTERNAL_ERROR, STALE_AFTER, champion_verdicts_queue

logger = logging.getLogger(__name__)


def champion_checks_sweep(*, now: datetime | None = None) -> sweeps.SweepReport:
    """Checks left ``weighing`` past :data:`STALE_AFTER` lost their worker: queued again
    while attempts are left, else failed (a dead worker's come back sooner through
    :mod:`jobs.liveness`; this is the last resort)."""
    now = now or timezone.now()
    cutoff = now - max(STALE_AFTER, timedelta(seconds=settings.SCORING_HARD_TIME_LIMIT))
    stale = Q(status=ChampionCheckStatus.WEIGHING) & (
        Q(status_changed_at__lt=cutoff) | Q(status_changed_at__isnull=True)
    )
    return sweeps.jobs_sweep(job_type=CHAMPION_CHECK, stale=stale, now=now, decide=_decide_lost)


@when_holder_lost(job_type=CHAMPION_CHECK)  # a check whose worker was seen dead: as a stale one
def _decide_lost(check: ChampionCheck, now: datetime) -> tuple[str, dict[str, Any]]:
    """Weighed again while attempts are left (a check is idempotent), else failed."""
    if lifecycle.attempts_left(job_type=CHAMPION_CHECK, job=check) > 0:
        return lifecycle.REQUEUED, {}
    return lifecycle.FAILED, {"error": INTERNAL_ERROR}


def champion_tick(*, task_ids: Callable[[], list[int]] | None = None) -> dict[str, int]:
    """The beat's minute: stale checks swept, week-old release-check uses forgotten, waiting
    deciding checks queued where a start is set, and the verdicts of every task's board
    entries queued where the champion, the split (the reveal), the data or the settings
    changed."""
    report = champion_checks_sweep()
    release_budget_prune()
    queued = _weigh_all_waiting()
    ids = task_ids() if task_ids is not None else _tasks_with_entries()
    for task in Task.objects.filter(pk__in=ids).select_related("track__challenge"):
        try:
            queued += champion_verdicts_queue(task=task)
        except Exception:
            logger.exception("verdicts of task %s could not be queued", task.slug)
    return {"requeued": len(report.requeued), "failed": len(report.failed), "queued": queued}


def _weigh_all_waiting() -> int:
    """Deciding checks that found no champion, on tasks that have one now (the start was set
    while they were weighed): queued again (the start's own hand-over is the usual path)."""
    task_ids = set(
        ChampionCheck.objects.filter(
            decides=True, outcome=WAITING, status=ChampionCheckStatus.DONE
        ).values_list("task_id", flat=True)
    )
    queued = 0
    for holder in TaskChampion.objects.filter(task_id__in=task_ids, current__isnull=False):
        current = holder.current
        if change_entry(change=current) is not None:
            queued += weigh_waiting(task_id=holder.task_id, change_id=current.pk)
    return queued


def _tasks_with_entries() -> list[int]:
    return list(LeaderboardEntry.objects.values_list("task_id", flat=True).distinct())
