"""A task's champion checks, queued: one deciding check per new scored entry
(:func:`champion_candidate_landed`), and the deciding checks that found no champion, queued
again once there is one (:func:`weigh_waiting`). Each check is created once per key and
published after commit (:func:`queue_once`); ``leaderboard.champion.services`` weighs and
decides them (docs/organizers/champion-gate.md).
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from algorithms.models import AlgorithmRun
from datasets.models import Task
from jobs import lifecycle
from leaderboard.models import ChampionCheck, ChampionCheckStatus
from scoring.models import Submission

from .entries import entry_candidate_reason, entry_of
from .jobs import CHAMPION_CHECK

WAITING = "waiting"  # a deciding check that found no champion (weighed once there is one)
WAITED = "waited"  # ... and was queued again when the start was set


def _candidate_key(*, submission_id: int | None, run_id: int | None) -> str:
    return f"s{submission_id}" if submission_id is not None else f"r{run_id}"


def queue_once(*, key: str, **fields: Any) -> ChampionCheck | None:
    """Create a queued check once per ``key`` and publish it after commit."""
    try:
        with transaction.atomic():
            check = ChampionCheck.objects.create(
                key=key,
                status=ChampionCheckStatus.QUEUED,
                status_changed_at=timezone.now(),
                **fields,
            )
    except IntegrityError:
        return None  # queued (or done) before: a check is weighed once
    lifecycle.publish_job_after_commit(job_type=CHAMPION_CHECK, pk=check.pk)
    return check


def champion_candidate_landed(
    *, submission_id: int | None = None, run_id: int | None = None
) -> ChampionCheck | None:
    """A submission was scored, or a run scored on itself: queue its deciding check (once
    per entry; a rescore is no new entry). Entries that cannot take the place (hidden, a
    failed scoring) queue nothing."""
    if submission_id is not None:
        obj = Submission.objects.select_related("team", "task").filter(pk=submission_id).first()
        entry = entry_of(submission=obj)
    else:
        obj = (
            AlgorithmRun.objects.select_related("version__algorithm__team", "task")
            .filter(pk=run_id)
            .first()
        )
        entry = entry_of(run=obj)
    if entry is None or entry_candidate_reason(entry=entry) is not None:
        return None
    key = "decide:" + _candidate_key(submission_id=submission_id, run_id=run_id)
    return queue_once(
        key=key,
        task=obj.task,
        decides=True,
        submission=obj if entry.type == "submission" else None,
        run=obj if entry.type == "run" else None,
        data_version=obj.task.data_version,
    )


def weigh_waiting(*, task_id: int, change_id: int) -> int:
    """A start was set: the deciding checks that found no champion are weighed again, in
    the order their entries were scored (each may crown its entry); returns how many."""
    waiting = ChampionCheck.objects.filter(
        task_id=task_id, decides=True, outcome=WAITING, status=ChampionCheckStatus.DONE
    ).order_by("pk")
    version = Task.objects.filter(pk=task_id).values_list("data_version", flat=True).first()
    queued = 0
    for old in waiting:
        candidate = f"s{old.submission_id}" if old.submission_id is not None else f"r{old.run_id}"
        check = queue_once(
            key=f"decide:{candidate}:c{change_id}",
            task_id=task_id,
            decides=True,
            submission_id=old.submission_id,
            run_id=old.run_id,
            data_version=version or old.data_version,
        )
        ChampionCheck.objects.filter(pk=old.pk).update(outcome=WAITED)
        queued += check is not None
    return queued
