"""Which run a worker takes next: the database decides, the broker's message is a doorbell.

Every queued run publishes one message to its profile's Celery task (its queue). Whatever
run a message names, the worker that gets it claims the **best** queued run of the
profiles that task serves, at claim time (:func:`run_claim_next`, on the shared job
lifecycle's :func:`challenge_platform.lifecycle.job_claim_next`), ordered by:

1. the **priority class**: the profile's (``RunProfile.priority``: runs a person asked for
   and a task's first baseline are class 0, a benchmark's first run on a task class 10), or
   its ``again_priority`` when the run repeats work already answered (its version has a
   succeeded run on the task's current data); the extra answers (work answered run again,
   stress runs, reproductions) share class 15. First answers go before extra ones (issue
   50). Only the profiles that are ``eligible`` now count (``RunProfile.eligible``, e.g. a
   compute budget);
2. the **share** of the algorithm's team: how many of its runs are running now, then the
   CPU seconds its runs that finished within ``ALGORITHM_FAIR_SHARE_WINDOW_SECONDS`` used
   (so a team with 50 queued runs does not delay a team with one: the second team's run is
   next as soon as a worker is free);
3. **age** (oldest first, then the lowest id).

Messages and runs are not paired: there is at least one message per queued run (each run
publishes one when it is queued; the sweeper publishes again for a run queued too long), and
each message claims at most one run, so every run is claimed once a worker is free, a
duplicate or stale message finds nothing to claim and does nothing, and a run is never
claimed twice (the claim holds the row's lock, re-checks it is queued, and stamps the
delivery's token). A message redelivered after its worker died finds the run it had claimed
(``claim_token`` is the message's id) and resumes or ends that one, never a second run.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    Exists,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from algorithms.services.profiles import (
    PROFILES,
    RunProfile,
    cell_profile_names,
    eligible_runs,
    profile_of,
)
from jobs import lifecycle

logger = logging.getLogger(__name__)

# A class no profile has: runs of a profile this release does not know sort last (and are
# not eligible anyway).
UNKNOWN_CLASS = 1_000_000


def run_claim_next(
    *,
    served: Sequence[RunProfile],
    token: str,
    delivery_id: str | None = None,
    worker: str | None = None,
) -> AlgorithmRun | None:
    """The run this delivery holds now, or ``None`` when nothing is queued for it: the run
    it had claimed before its worker died (a redelivery), else the best queued run of the
    ``served`` profiles (its task's group, :data:`~.profiles.RUN_GROUPS`; see the module)."""
    job_type = served[0].job_type  # one type for every profile of a task
    held = lifecycle.job_held_by(job_type=job_type, token=delivery_id) if delivery_id else None
    if held is not None:
        return _claim_redelivered(run_pk=held, token=token, delivery_id=delivery_id, worker=worker)
    run = lifecycle.job_claim_next(
        job_type=job_type,
        token=token,
        eligible=lambda: _claimable(served=served, worker=worker),
        annotate=lambda: share_annotations(now=timezone.now()),
        order=SHARE_ORDER,
        exhausted=lambda run, now: {"error": _lost(run, now)},
        fields=_claim_fields(worker),
        select_related=SELECT_RELATED,
    )
    if run is not None:
        logger.info(
            "%s run %s started on %s (doorbell of %s)",
            run.profile,
            run.pk,
            run.worker_hostname,
            delivery_id or "a direct call",
        )
    return run


def _claimable(*, served: Sequence[RunProfile], worker: str | None) -> Q:
    """The claim's condition: :func:`~.profiles.eligible_runs` of the ``served`` profiles,
    a profile with a rule (a budget, the live nodes) only when it has a run queued now. A
    team's run was claimed after the background profiles' rules were asked (today's CPU
    summed, the live nodes read from Redis: 2-7 ms of its path) for runs that were not
    there; one question of the queue replaces them. A run of a skipped profile queued
    meanwhile is claimed by its own doorbell (one message per queued run)."""
    ruled = [profile.name for profile in served if profile.eligible is not None]
    queued: set[str] = set()
    if ruled:
        queued = set(
            AlgorithmRun.objects.filter(status=AlgorithmRunStatus.QUEUED, profile__in=ruled)
            .order_by()
            .values_list("profile", flat=True)
            .distinct()
        )
    asked = [p for p in served if p.eligible is None or p.name in queued]
    return eligible_runs(served=asked, worker=worker)


SELECT_RELATED = ("version__algorithm__team", "task__track__challenge", "started_by")
SHARE_ORDER = ("priority_class", "team_running", "team_cpu_seconds", "created_at", "pk")


def share_annotations(*, now: datetime) -> dict[str, Any]:
    """The annotations :data:`SHARE_ORDER` sorts queued runs by (one home for the order:
    the claim, and the queue's page or a test that asks what runs next)."""
    team = OuterRef("version__algorithm__team_id")
    same_team = AlgorithmRun.objects.filter(version__algorithm__team_id=team).order_by()
    running = (
        same_team.filter(status=AlgorithmRunStatus.RUNNING)
        .values("version__algorithm__team_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    since = now - timedelta(seconds=settings.ALGORITHM_FAIR_SHARE_WINDOW_SECONDS)
    cpu = (
        same_team.filter(finished_at__gte=since, cpu_seconds__isnull=False)
        .values("version__algorithm__team_id")
        .annotate(total=Sum("cpu_seconds"))
        .values("total")
    )
    return {
        "priority_class": priority_class(),
        "team_running": Coalesce(Subquery(running, output_field=IntegerField()), Value(0)),
        "team_cpu_seconds": Coalesce(
            Subquery(cpu, output_field=FloatField()), Value(0.0), output_field=FloatField()
        ),
    }


def priority_class() -> Case:
    """The priority class of a queued run (:data:`SHARE_ORDER`'s first key): its profile's
    ``priority``, or its ``again_priority`` when its version already answered on the task's
    current data (:func:`answered_runs`): first answers before extra ones."""
    answered = Exists(answered_runs())
    whens = []
    for profile in PROFILES.values():
        if profile.again_priority is not None:
            whens.append(
                When(Q(profile=profile.name) & Q(answered), then=Value(profile.again_priority))
            )
        whens.append(When(profile=profile.name, then=Value(profile.priority)))
    return Case(*whens, default=Value(UNKNOWN_CLASS), output_field=IntegerField())


def answered_runs() -> QuerySet[AlgorithmRun]:
    """The answers of the outer run's version on its task's current data: succeeded runs of
    a profile that fills a transfer cell (a team's, an organizer's, a re-run, the baseline;
    never a stress run or a reproduction) whose manifest names that data version (a run
    without one counts as data version 1, as :mod:`algorithms.selectors` does)."""
    data_version = Coalesce(
        Cast(KeyTextTransform("task_data_version", "manifest"), IntegerField()), Value(1)
    )
    return (
        AlgorithmRun.objects.filter(
            version_id=OuterRef("version_id"),
            task_id=OuterRef("task_id"),
            status=AlgorithmRunStatus.SUCCEEDED,
            profile__in=cell_profile_names(),
        )
        .annotate(answered_on=data_version)
        .filter(answered_on=OuterRef("task__data_version"))
        .order_by()
    )


def queued_in_claim_order(
    *, served: Sequence[RunProfile], worker: str | None = None
) -> list[AlgorithmRun]:
    """The queued runs of the ``served`` profiles in the order the next claims (of
    ``worker``) would take them if nothing changed meanwhile (what a queue page shows; the
    tests compare)."""
    return list(
        in_claim_order(
            rows=AlgorithmRun.objects.filter(status=AlgorithmRunStatus.QUEUED).filter(
                eligible_runs(served=served, worker=worker)
            )
        )
    )


def in_claim_order(*, rows: QuerySet[AlgorithmRun]) -> QuerySet[AlgorithmRun]:
    """``rows`` annotated and sorted as the claim takes them (:data:`SHARE_ORDER`)."""
    return rows.annotate(**share_annotations(now=timezone.now())).order_by(*SHARE_ORDER)


def _claim_fields(worker: str | None):
    def fields(run: AlgorithmRun, now: datetime) -> dict[str, Any]:
        return {
            "heartbeat_at": now,
            "worker_hostname": (worker or socket.gethostname())[:255],
            "worker_pid": os.getpid(),
            "runner_pid": None,
            "error": "",
            "log_tail": "",
            "limit_hit": "",
        }

    return fields


def _lost(run: AlgorithmRun, now: datetime) -> str:
    why = "killed, out of memory, or past the worker's time limit"
    return lost_message(profile=profile_of(run=run), run=run, now=now, why=why)


def lost_message(*, profile: RunProfile, run: AlgorithmRun, now: datetime, why: str) -> str:
    """The profile's "worker lost" failure for ``run``, saying ``why``."""
    seconds = (now - (run.started_at or now)).total_seconds()
    return profile.worker_lost.format(why=why, seconds=seconds, attempts=run.attempts)


def _claim_redelivered(
    *, run_pk: int, token: str, delivery_id: str | None, worker: str | None
) -> AlgorithmRun | None:
    """The message that had claimed ``run_pk`` came back (its worker died mid-run): the run
    starts again while its profile allows another attempt, else fails as "worker lost"."""
    profile = profile_of(run=AlgorithmRun.objects.only("profile").get(pk=run_pk))
    run = lifecycle.job_claim(
        job_type=profile.job_type,
        pk=run_pk,
        token=token,
        delivery_id=delivery_id,
        exhausted=lambda run, now: {"error": _lost(run, now)},
        fields=_claim_fields(worker),
        select_related=SELECT_RELATED,
    )
    if run is not None:
        logger.info("%s run %s resumed on %s (redelivered)", run.profile, run_pk, worker)
    return run
