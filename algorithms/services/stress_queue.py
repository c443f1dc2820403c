"""Queueing stress runs (docs/organizers/stress.md): one for every benchmark version and the
AutoGluon baseline on every task with stress families, with no one acting.

A task's stress plan is its ``task.json``'s ``stress`` (``Task.meta``; by default every
family that applies to its columns; ``[]``: none). For each version in the benchmark
(:func:`algorithms.services.benchmark.benchmark_versions`) and each version of the
baseline team's algorithm that has a *clean* run on the task's current data (a team's,
an organizer's, a re-run or the baseline's, succeeded, with its predictions kept),
:func:`stress_queue` queues one stress run compared with the newest such run: once per
version, task, data version and plan (a new data version or a changed plan queues again;
a failed stress run is not retried by itself). The beat calls it every minute
(``algorithms.tasks.stress_tick``); the runs wait in the database like re-runs, within the
same budget.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from algorithms.models import (
    ACTIVE,
    BASELINE_PROFILE,
    BENCHMARK_PROFILE,
    ORGANIZER_PROFILE,
    STRESS_PROFILES,
    TEAM_PROFILE,
    AlgorithmRun,
    AlgorithmRunStatus,
    AlgorithmVersion,
)
from algorithms.services.benchmark import benchmark_versions
from algorithms.services.profiles import BASELINE_STRESS, STRESS
from algorithms.services.run_budget import stress_budget_options
from algorithms.services.runs import run_create
from algorithms.services.stress import stress_seed, task_columns
from datasets.models import Task
from kinds import kind_get
from kinds.stress import PlannedFamily, StressRefused, plan_fingerprint, stress_plan
from scoring.models import SubmissionStatus

logger = logging.getLogger(__name__)

CLEAN_PROFILES = (TEAM_PROFILE, ORGANIZER_PROFILE, BENCHMARK_PROFILE, BASELINE_PROFILE)


def task_stress_plan(*, task: Task) -> list[PlannedFamily]:
    """The task's stress plan (see the module); :class:`StressRefused` when the stored one
    no longer fits the task (its columns changed with a new data version)."""
    meta = task.meta if isinstance(task.meta, dict) else {}
    return stress_plan(kind_get(task.kind), task_columns(task=task), meta.get("stress"))


def _stress_versions(task: Task) -> set[int]:
    """The versions whose stress runs the task gets: the benchmark's and the baseline's."""
    challenge = task.track.challenge
    versions = set(benchmark_versions(challenge=challenge).values_list("pk", flat=True))
    versions |= set(
        AlgorithmVersion.objects.filter(
            algorithm__challenge=challenge, algorithm__team__is_baseline=True
        ).values_list("pk", flat=True)
    )
    return versions


def clean_runs(*, task: Task) -> dict[int, AlgorithmRun]:
    """Version id -> its newest clean run on the task's current data (see the module)."""
    runs = (
        AlgorithmRun.objects.filter(
            task=task,
            profile__in=CLEAN_PROFILES,
            status=AlgorithmRunStatus.SUCCEEDED,
            manifest__task_data_version=task.data_version,
        )
        .filter(
            Q(submission__status=SubmissionStatus.SCORED, submission__predictions__gt="")
            | Q(submission__isnull=True, predictions__gt="")
        )
        .select_related("version__algorithm__team")
        .order_by("-finished_at", "-pk")
    )
    latest: dict[int, AlgorithmRun] = {}
    for run in runs:
        latest.setdefault(run.version_id, run)
    return latest


def _done(task: Task, fingerprint: str) -> set[int]:
    """Versions with a stress run of this data version and plan (any status but
    cancelled): queued once."""
    return set(
        AlgorithmRun.objects.filter(
            task=task,
            profile__in=STRESS_PROFILES,
            options__fingerprint=fingerprint,
            options__data_version=task.data_version,
        )
        .exclude(status=AlgorithmRunStatus.CANCELLED)
        .values_list("version_id", flat=True)
    ) | set(
        AlgorithmRun.objects.filter(
            task=task, profile__in=STRESS_PROFILES, status__in=ACTIVE
        ).values_list("version_id", flat=True)
    )


@dataclass(frozen=True)
class StressOutlook:
    """What the tick does for a task's runs: ``refused`` says why it queues no stress run
    at all (None: it queues them), else ``fingerprint`` names the current plan, ``versions``
    are the versions it gives stress runs to and ``clean`` each one's clean run compared
    with (the newest on the task's current data, :func:`clean_runs`)."""

    refused: str | None
    stale_plan: bool = False  # refused because the stored plan no longer fits the columns
    fingerprint: str = ""
    plan: tuple[PlannedFamily, ...] = ()
    versions: frozenset[int] = frozenset()
    clean: dict[int, AlgorithmRun] = field(default_factory=dict)


def _plan_or_refusal(task: Task) -> tuple[list[PlannedFamily], StressOutlook | None]:
    """The task's stress plan, or the refused outlook that says why it gets no stress run."""
    if not settings.STRESS_RUNS:
        return [], StressOutlook(refused="stress runs are off on this platform (STRESS_RUNS=0)")
    if not kind_get(task.kind).stress_families():
        label = kind_get(task.kind).label
        return [], StressOutlook(refused=f"a {label} task has no stress families")
    try:
        plan = task_stress_plan(task=task)
    except StressRefused as exc:
        return [], StressOutlook(
            refused=f"the task's stress plan no longer applies: {exc}", stale_plan=True
        )
    if not plan:
        return [], StressOutlook(refused="the task's stress plan is empty (stress: [])")
    return plan, None


def stress_refused(*, task: Task) -> str | None:
    """Why ``task`` gets no stress run at all, or None when it gets them: the first part of
    :func:`stress_outlook`'s rule, without reading the task's runs."""
    refused = _plan_or_refusal(task)[1]
    return None if refused is None else refused.refused


def stress_outlook(*, task: Task) -> StressOutlook:
    """The tick's rule for ``task`` (see the module), read without queueing anything: the
    one home of the rule for :func:`stress_queue_task` and for the boards, which say why an
    entry has no robustness figures and whether it will (``algorithms.stress_selectors``)."""
    plan, refused = _plan_or_refusal(task)
    if refused is not None:
        return refused
    return StressOutlook(
        refused=None,
        fingerprint=plan_fingerprint(plan),
        plan=tuple(plan),
        versions=frozenset(_stress_versions(task)),
        clean=clean_runs(task=task),
    )


def stress_queue_task(*, task: Task) -> list[AlgorithmRun]:
    """Queue the task's missing stress runs (see the module); returns them."""
    outlook = stress_outlook(task=task)
    if outlook.refused is not None:
        if outlook.stale_plan:
            logger.warning("task %s: %s", task.slug, outlook.refused)
        return []
    plan, fingerprint = outlook.plan, outlook.fingerprint
    done = _done(task, fingerprint)
    queued = []
    for version_id, clean in outlook.clean.items():
        if version_id not in outlook.versions or version_id in done:
            continue
        baseline = clean.version.algorithm.team.is_baseline
        profile = BASELINE_STRESS if baseline else STRESS
        options = {
            **(clean.options if baseline else {}),
            "stress": [p.as_json() for p in plan],
            "fingerprint": fingerprint,
            "data_version": task.data_version,
            "stress_seed": stress_seed(task=task, fingerprint=fingerprint),
            **stress_budget_options(challenge=task.track.challenge),
        }
        try:
            with transaction.atomic():
                run = run_create(
                    profile=profile,
                    version=clean.version,
                    task=task,
                    options=options,
                    audit=False,
                    seed=clean.seed,
                    limits=clean.limits or None,
                )
                run.stress_of = clean
                run.save(update_fields=["stress_of"])
        except IntegrityError:  # another tick queued it first
            continue
        queued.append(run)
    if queued:
        logger.info("task %s: %s stress runs queued", task.slug, len(queued))
    return queued


def stress_queue(*, tasks: Iterable[Task] | None = None) -> list[AlgorithmRun]:
    """Queue every task's missing stress runs (``tasks``: only these), unless
    ``STRESS_RUNS`` is off."""
    if not settings.STRESS_RUNS:
        return []
    if tasks is None:
        tasks = Task.objects.select_related("track__challenge").order_by("pk")
    queued: list[AlgorithmRun] = []
    for task in tasks:
        queued += stress_queue_task(task=task)
    return queued
