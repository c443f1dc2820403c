"""Queueing baseline runs: the baseline team, limits, queue, cancel and the sweeper.

Lifecycle of a :class:`BaselineRun` (DESIGN §5), on the shared job lifecycle of
:mod:`challenge_platform.jobs`::

    queued -> running -> succeeded | failed | timed_out | cancelled
    queued -> cancelled                       (cancelled before a worker took it)

The database is the source of truth and the broker only a doorbell: a run is published to
the ``baselines`` queue (by task name) after its row is committed; the sweeper re-publishes
a run left ``queued`` by a lost message, and fails a ``running`` run whose worker stopped
beating.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from challenge_platform import jobs
from challenge_platform.audit import audit_record
from challenge_platform.models import Challenge, Team
from datasets.models import Task
from scoring.baselines.models import ACTIVE_STATUSES, BaselineRun, BaselineRunStatus

logger = logging.getLogger(__name__)

BASELINE_TEAM_NAME = "AutoGluon baseline"
# AutoGluon presets that run on CPU with the model types the runner allows.
PRESETS = (
    "medium_quality",
    "good_quality",
    "high_quality",
    "best_quality",
    "optimize_for_deployment",
    "interpretable",
    "ignore_text",
)
# Seconds the Celery task needs besides the runner: copying the task files in, storing the
# artifacts and the predictions. The runner's hard timeout stays this far below the soft limit.
TASK_OVERHEAD_SECONDS = 90
# A running run whose heartbeat is older than this has lost its worker.
RUNNING_STALE_SECONDS = 300

BASELINES = jobs.JobKind(
    model=BaselineRun,
    task_name="algorithms.tasks.run_baseline",
    pk_kwarg="run_pk",
    queued=BaselineRunStatus.QUEUED,
    running=BaselineRunStatus.RUNNING,
    final=(
        BaselineRunStatus.SUCCEEDED,
        BaselineRunStatus.FAILED,
        BaselineRunStatus.TIMED_OUT,
        BaselineRunStatus.CANCELLED,
    ),
    failed=BaselineRunStatus.FAILED,
    token_field="delivery_id",
    label="baseline run",
)
WORKER_LOST = (
    "The worker running this baseline stopped unexpectedly ({why}) after {seconds:.0f} s."
    " It was not retried automatically; use 'Run baseline again'."
)


# Grouping: pair features within blocks, then connected components (autogluon_baseline/grouping.py).
BASELINE_KINDS = ("classification", "matching", "grouping")


class BaselineRunRefused(Exception):
    """A baseline request refused; ``message`` is for the organizer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- limits ------------------------------------------------------------------------------


def worker_hard_time_limit() -> int:
    """Celery's hard limit of ``run_baseline``: the pool process is killed at this point."""
    return int(settings.BASELINE_HARD_TIME_LIMIT)


def worker_soft_time_limit() -> int:
    """Celery's soft limit: the task gets ``SoftTimeLimitExceeded`` and kills the runner."""
    return worker_hard_time_limit() - 60


def max_hard_timeout() -> int:
    """The longest wall-clock budget a run's runner may get inside the soft limit."""
    return worker_soft_time_limit() - TASK_OVERHEAD_SECONDS


def default_hard_timeout(time_limit: int) -> int:
    """The runner's wall-clock budget for a fit budget: twice it plus two minutes for the
    imports, features, prediction and AutoGluon's overshoot, capped by the worker's limits."""
    return min(2 * time_limit + 120, max_hard_timeout())


def queued_stale_seconds() -> int:
    """A run ``queued`` this long gets its message published again. The ``baselines`` queue
    runs one job at a time, so a run may legitimately wait behind another one; a duplicate
    message is harmless (the claim finds the run taken and does nothing)."""
    return worker_hard_time_limit() + 60


# --- the baseline team ---------------------------------------------------------------------


def baseline_team_get_or_create(*, challenge: Challenge) -> Team:
    """The challenge's built-in baseline team (``is_baseline``), created when missing.

    The database allows one baseline team per challenge; a participant team that took the
    name first leaves the baseline team a suffixed name.
    """
    team = Team.objects.filter(challenge=challenge, is_baseline=True).first()
    if team is not None:
        return team
    for name in (BASELINE_TEAM_NAME, f"{BASELINE_TEAM_NAME} (built-in)"):
        try:
            with transaction.atomic():
                return Team.objects.create(challenge=challenge, name=name, is_baseline=True)
        except IntegrityError:
            team = Team.objects.filter(challenge=challenge, is_baseline=True).first()
            if team is not None:  # created concurrently
                return team
    raise BaselineRunRefused(
        f"The challenge '{challenge.slug}' has teams named '{BASELINE_TEAM_NAME}' and"
        f" '{BASELINE_TEAM_NAME} (built-in)'; rename one so the baseline team can be created."
    )


# --- queueing and cancelling -------------------------------------------------------------


def baseline_run_queue(
    *,
    task: Task,
    presets: str | None = None,
    time_limit: int | None = None,
    hard_timeout: int | None = None,
    actor: Any = None,
) -> BaselineRun:
    """Queue an AutoGluon baseline for ``task``; published to the ``baselines`` queue on commit.

    ``presets`` and ``time_limit`` (AutoGluon's fit budget, seconds) default to the
    ``BASELINE_PRESETS`` and ``BASELINE_TIME_LIMIT`` settings; ``hard_timeout`` bounds the
    whole runner process (default :func:`default_hard_timeout`). Raises
    :class:`BaselineRunRefused` when the task already has a queued or running baseline, or
    when the limits don't fit the worker's.
    """
    if task.kind not in BASELINE_KINDS:
        raise BaselineRunRefused(
            f"Task '{task.slug}' is a {task.kind} task: the AutoGluon baseline runs on "
            f"{' and '.join(BASELINE_KINDS)} tasks only."
        )
    presets = presets or settings.BASELINE_PRESETS
    time_limit = int(time_limit if time_limit is not None else settings.BASELINE_TIME_LIMIT)
    _check_limits(presets=presets, time_limit=time_limit, hard_timeout=hard_timeout)
    hard_timeout = int(hard_timeout or default_hard_timeout(time_limit))
    baseline_team_get_or_create(challenge=task.track.challenge)
    try:
        with transaction.atomic():
            active = _active_run(task_id=task.pk)
            if active is not None:
                raise BaselineRunRefused(_already_active(task, active))
            run = BaselineRun.objects.create(
                task=task,
                presets=presets,
                time_limit=time_limit,
                hard_timeout=hard_timeout,
                status=BaselineRunStatus.QUEUED,
                status_changed_at=timezone.now(),
            )
            pk = run.pk
            _publish_run(run_pk=pk)
            audit_record(
                actor=actor,
                action="baseline_run.start",
                obj=run,
                after={"presets": presets, "time_limit": time_limit},
            )
    except IntegrityError:
        # Another request queued one since the check (the database's one-active-run rule).
        active = _active_run(task_id=task.pk)
        if active is None:
            raise
        raise BaselineRunRefused(_already_active(task, active)) from None
    logger.info("baseline run %s queued for %s (%s, %s s)", run.pk, task.slug, presets, time_limit)
    return run


def _check_limits(*, presets: str, time_limit: int, hard_timeout: int | None) -> None:
    if presets not in PRESETS:
        raise BaselineRunRefused(
            f"Unknown AutoGluon presets '{presets}'; choose one of {', '.join(PRESETS)}."
        )
    longest = max_hard_timeout()
    if time_limit < 1:
        raise BaselineRunRefused("The time limit must be at least 1 second.")
    if time_limit >= longest:
        raise BaselineRunRefused(
            f"A time limit of {time_limit} s does not fit the baseline worker's limits (the"
            f" whole run must end within {longest} s); choose less, or raise"
            " BASELINE_TIME_LIMIT, which raises the worker's limits."
        )
    if hard_timeout is not None and not time_limit < hard_timeout <= longest:
        raise BaselineRunRefused(
            f"The hard timeout must be above the time limit ({time_limit} s) and at most"
            f" {longest} s."
        )


def _active_run(*, task_id: int) -> BaselineRun | None:
    return BaselineRun.objects.filter(task_id=task_id, status__in=ACTIVE_STATUSES).first()


def _already_active(task: Task, run: BaselineRun) -> str:
    return (
        f"The task '{task.slug}' already has a baseline {run.get_status_display().lower()}"
        f" (run #{run.pk}); wait for it to finish or cancel it first."
    )


def _publish_run(*, run_pk: int) -> None:
    """Ring the doorbell after commit. A lost message is not fatal: the sweeper re-publishes."""
    jobs.publish_job_after_commit(BASELINES, pk=run_pk)


@dataclass(frozen=True)
class BaselineQueueReport:
    """What :func:`baselines_queue` did: the runs it queued and, per skipped task, why."""

    queued: list[BaselineRun]
    skipped: list[tuple[Task, str]]


def baselines_queue(
    *,
    tasks: Iterable[Task],
    presets: str | None = None,
    time_limit: int | None = None,
    skip_succeeded: bool = True,
    actor: Any = None,
) -> BaselineQueueReport:
    """Queue a baseline for each of ``tasks`` that has none queued or running and, with
    ``skip_succeeded``, none that succeeded. Raises :class:`BaselineRunRefused` for limits
    that fit no task; a task refused on its own is reported in ``skipped``."""
    presets = presets or settings.BASELINE_PRESETS
    time_limit = int(time_limit if time_limit is not None else settings.BASELINE_TIME_LIMIT)
    _check_limits(presets=presets, time_limit=time_limit, hard_timeout=None)  # once for all
    queued: list[BaselineRun] = []
    skipped: list[tuple[Task, str]] = []
    for task in tasks:
        if skip_succeeded:
            done = (
                BaselineRun.objects.filter(task=task, status=BaselineRunStatus.SUCCEEDED)
                .order_by("-finished_at", "-pk")
                .first()
            )
            if done is not None:
                skipped.append((task, f"has a succeeded baseline (run #{done.pk})"))
                continue
        try:
            queued.append(
                baseline_run_queue(task=task, presets=presets, time_limit=time_limit, actor=actor)
            )
        except BaselineRunRefused as exc:
            skipped.append((task, exc.message))
    return BaselineQueueReport(queued=queued, skipped=skipped)


def baselines_queue_for_challenge(*, challenge: Challenge) -> list[BaselineRun]:
    """Queue the baseline of every task of ``challenge`` without a succeeded or an active
    run, with the default presets and time limit. Idempotent (``load_demo`` calls it on
    every start)."""
    tasks = Task.objects.select_related("track__challenge").filter(track__challenge=challenge)
    report = baselines_queue(tasks=tasks.order_by("track__order", "order", "slug"))
    return report.queued


def baseline_run_again(*, run: BaselineRun, actor: Any = None) -> BaselineRun:
    """Queue a new run of ``run``'s task with the same presets and time limit."""
    return baseline_run_queue(
        task=run.task, presets=run.presets, time_limit=run.time_limit, actor=actor
    )


def baseline_run_cancel(*, run: BaselineRun, actor: Any = None, reason: str = "") -> BaselineRun:
    """Cancel ``run``: a queued run becomes ``cancelled`` at once; a running one is flagged,
    and its worker stops the sandbox (its whole process group) within a few seconds.

    Raises :class:`BaselineRunRefused` when the run has already finished.
    """
    with transaction.atomic():
        current = BaselineRun.objects.select_for_update().get(pk=run.pk)
        before = {"status": current.status, "cancel_requested": current.cancel_requested}
        try:
            locked = jobs.job_cancel(
                BASELINES,
                pk=run.pk,
                cancelled=BaselineRunStatus.CANCELLED,
                message_field="message",
            )
        except jobs.JobAlreadyFinished as done:
            raise BaselineRunRefused(
                f"Run #{done.job.pk} has already finished "
                f"({done.job.get_status_display().lower()})."
            ) from None
        audit_record(
            actor=actor,
            action="baseline_run.cancel",
            obj=locked,
            before=before,
            after={"status": locked.status, "cancel_requested": locked.cancel_requested},
            reason=reason,
        )
    return locked


# --- the sweeper ---------------------------------------------------------------------------

BaselineSweepReport = jobs.SweepReport


def baseline_runs_sweep(*, now: datetime | None = None) -> BaselineSweepReport:
    """Re-publish runs stuck ``queued`` (a lost message) and end runs whose worker stopped
    beating while ``running`` (killed with its whole host, say): ``failed``, or
    ``cancelled`` when a cancel had been requested."""
    now = now or timezone.now()
    queued_cutoff = now - timedelta(seconds=queued_stale_seconds())
    beat_cutoff = now - timedelta(seconds=RUNNING_STALE_SECONDS)
    started_cutoff = now - timedelta(seconds=worker_hard_time_limit() + 60)
    stale_queued = Q(status=BaselineRunStatus.QUEUED) & (
        Q(status_changed_at__lt=queued_cutoff) | Q(status_changed_at__isnull=True)
    )
    stale_running = Q(status=BaselineRunStatus.RUNNING) & (
        Q(heartbeat_at__lt=beat_cutoff)
        | Q(heartbeat_at__isnull=True)
        | Q(started_at__lt=started_cutoff)
    )
    report = jobs.jobs_sweep(
        BASELINES, stale=stale_queued, now=now, decide=lambda run, now: (jobs.REQUEUED, {})
    )
    return jobs.jobs_sweep(
        BASELINES, stale=stale_running, now=now, decide=_end_lost_run, report=report
    )


@jobs.when_holder_lost(BASELINES)
def _end_lost_run(run: BaselineRun, now: datetime) -> tuple[str, dict[str, Any]]:
    seconds = (now - (run.started_at or now)).total_seconds()
    quiet = (now - (run.heartbeat_at or run.started_at or now)).total_seconds()
    why = f"no heartbeat for {quiet:.0f} s"
    if run.cancel_requested:
        fields = {
            "status": BaselineRunStatus.CANCELLED,
            "message": f"cancelled; its worker was lost ({why})",
        }
    else:
        fields = {"message": WORKER_LOST.format(why=why, seconds=seconds)}
    return jobs.FAILED, fields
