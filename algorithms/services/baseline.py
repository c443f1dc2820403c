"""Queueing the AutoGluon baselines: which tasks, with which budget, and what is refused.

A baseline run is an :class:`~algorithms.models.AlgorithmRun` of the challenge's built-in
baseline version (:mod:`algorithms.services.builtin`) under the baseline profile
(:mod:`algorithms.services.profiles`): it runs, is cancelled and is swept like any run; only
the rules of *queueing* one are its own (presets, safety limit, hard timeout, one active run
per task, and the tasks that have none yet).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from algorithms.models import ACTIVE, AlgorithmRun, AlgorithmRunStatus, BaselineRun
from algorithms.services.builtin import (
    BuiltinUnavailable,
    baseline_algorithm_version,
    baseline_kinds,
    default_hard_timeout,
    max_hard_timeout,
)
from algorithms.services.profiles import BASELINE
from algorithms.services.run_budget import baseline_budget_options
from algorithms.services.runs import run_create
from challenges.models import Challenge
from datasets.models import Task

logger = logging.getLogger(__name__)

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


class BaselineRunRefused(Exception):
    """A baseline request refused; ``message`` is for the organizer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- queueing -----------------------------------------------------------------------------


def baseline_run_queue(
    *,
    task: Task,
    presets: str | None = None,
    time_limit: int | None = None,
    hard_timeout: int | None = None,
    actor: Any = None,
) -> AlgorithmRun:
    """Queue an AutoGluon baseline for ``task``: a run of the challenge's built-in baseline
    version under the baseline profile, published to the ``baselines`` queue on commit.

    ``presets`` and ``time_limit`` (the safety limit, seconds: the baseline's work is fixed,
    see ``algorithms/builtin/autogluon/budget.py``; a run not finished by then fails) default
    to the ``BASELINE_PRESETS`` and ``BASELINE_TIME_LIMIT`` settings; ``hard_timeout`` bounds the
    whole sandboxed run (default :func:`default_hard_timeout`). The challenge's run budget
    (:mod:`algorithms.services.run_budget`) adds its train sample to the options. Raises
    :class:`BaselineRunRefused` when the task already has a queued or running baseline, or
    when the limits don't fit the worker's.
    """
    fitted = baseline_kinds()  # one module per kind in the baseline's kinds/ folder
    if task.kind not in fitted:
        raise BaselineRunRefused(
            f"Task '{task.slug}' is a {task.kind} task: the AutoGluon baseline runs on "
            f"{', '.join(fitted)} tasks only."
        )
    presets = presets or settings.BASELINE_PRESETS
    time_limit = int(time_limit if time_limit is not None else settings.BASELINE_TIME_LIMIT)
    _check_limits(presets=presets, time_limit=time_limit, hard_timeout=hard_timeout)
    hard_timeout = int(hard_timeout or default_hard_timeout(time_limit=time_limit))
    options = {
        "presets": presets,
        "time_limit": time_limit,
        "hard_timeout": hard_timeout,
        # The challenge's budget (its train sample), on every baseline run it queues.
        **baseline_budget_options(challenge=task.track.challenge),
    }
    try:
        version = baseline_algorithm_version(challenge=task.track.challenge)
    except BuiltinUnavailable as exc:
        raise BaselineRunRefused(exc.message) from exc
    try:
        with transaction.atomic():
            active = _active_run(task_id=task.pk)
            if active is not None:
                raise BaselineRunRefused(_already_active(task, active))
            run = run_create(
                profile=BASELINE, version=version, task=task, user=actor, options=options
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


def _active_run(*, task_id: int) -> AlgorithmRun | None:
    return BaselineRun.objects.filter(task_id=task_id, status__in=ACTIVE).first()


def _already_active(task: Task, run: AlgorithmRun) -> str:
    return (
        f"The task '{task.slug}' already has a baseline {run.get_status_display().lower()}"
        f" (run #{run.pk}); wait for it to finish or cancel it first."
    )


@dataclass(frozen=True)
class BaselineQueueReport:
    """What :func:`baselines_queue` did: the runs it queued and, per skipped task, why."""

    queued: list[AlgorithmRun]
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
    queued: list[AlgorithmRun] = []
    skipped: list[tuple[Task, str]] = []
    for task in tasks:
        if skip_succeeded:
            done = (
                BaselineRun.objects.filter(task=task, status=AlgorithmRunStatus.SUCCEEDED)
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


def baselines_queue_for_challenge(*, challenge: Challenge) -> list[AlgorithmRun]:
    """Queue the baseline of every task of ``challenge`` without a succeeded or an active
    run, with the default presets and time limit. Idempotent (``load_demo`` calls it on
    every start)."""
    tasks = Task.objects.select_related("track__challenge").filter(track__challenge=challenge)
    report = baselines_queue(tasks=tasks.order_by("track__order", "order", "slug"))
    return report.queued


def baseline_run_again(*, run: AlgorithmRun, actor: Any = None) -> AlgorithmRun:
    """Queue a new run of ``run``'s task with the same presets and time limit (on the
    built-in version of now: a deploy since may have changed it)."""
    options = run.options or {}
    return baseline_run_queue(
        task=run.task,
        presets=options.get("presets"),
        time_limit=options.get("time_limit"),
        actor=actor,
    )


# --- on arrival -----------------------------------------------------------------------------


def baseline_on_arrival(*, task_id: int) -> None:
    """A task arrived (imported by any path) or got a new data version: queue its AutoGluon
    baseline at once, in that transaction (published after commit), unless one is queued or
    running already. ``BENCHMARK_ON_ARRIVAL`` switches it off. A refusal (a kind the
    baseline does not fit, the built-in version unavailable) is logged: the import stands."""
    if not settings.BENCHMARK_ON_ARRIVAL:
        return
    task = Task.objects.select_related("track__challenge").filter(pk=task_id).first()
    if task is None:
        return
    if _active_run(task_id=task.pk) is not None:
        logger.info("task %s: a baseline is already queued or running", task.slug)
        return
    try:
        baseline_run_queue(task=task)
    except BaselineRunRefused as exc:
        logger.warning("task %s: no baseline queued on arrival: %s", task.slug, exc.message)
