"""The trivial baseline of a task that arrives, built by a worker (docs/architecture.md
§11).

A task imported by any path (``manage.py import_task``, the console, the API, the demo)
is benchmarked on arrival: in the import's transaction (``hooks.TaskAdded``) it gets a
queued :class:`~scoring.models.ReferenceBuild`, published after commit on the ``scoring``
queue, beside its queued AutoGluon baseline (``algorithms.services.baseline``). The build
is a job of the one lifecycle (:mod:`jobs.lifecycle`): a worker claims the row,
builds and scores the trivial baseline from the train labels
(:func:`~scoring.services.references.reference_trivial_ensure`, idempotent: a board's
refresh may have built it first) and tells the boards (``hooks.TaskResultsChanged``), so
the reference row appears on the task's board with no one acting. One build is pending per
task at most: queueing again while one is queued or building returns that one. A new data
version rebuilds the trivial baseline in its own transaction (``scoring.services.task_data``);
a task it leaves without one gets a build queued the same way.

A build whose message was lost is published again (:mod:`jobs.republish`); one whose worker
died goes back to the queue while it has attempts left (the holders' sweep at once, the
sweeper as the last resort), then fails with the reason. The switch is ``BENCHMARK_ON_ARRIVAL``.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from billiard.exceptions import SoftTimeLimitExceeded  # celery.exceptions's, without kombu
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from challenges import hooks
from datasets.models import Task
from jobs import lifecycle, sweeps
from jobs.holders import when_holder_lost
from scoring.core import SubmissionInvalid
from scoring.job_types import TRIVIAL_BUILD
from scoring.models import Reference, ReferenceBuild, ReferenceBuildStatus, ReferenceSource
from scoring.services.references import reference_trivial_ensure

logger = logging.getLogger(__name__)

PENDING = (ReferenceBuildStatus.QUEUED, ReferenceBuildStatus.BUILDING)
INTERNAL_ERROR = (
    "An internal error stopped the build of the trivial baseline; it is built again when the "
    "task's board is next refreshed."
)

# --- queueing ----------------------------------------------------------------------------------


def reference_trivial_queue(*, task: Task) -> ReferenceBuild:
    """Inside a transaction: a queued build of ``task``'s trivial baseline, published after
    commit; the pending one when the task has one already (never two)."""
    pending = ReferenceBuild.objects.filter(task=task, status__in=PENDING).first()
    if pending is not None:
        return pending
    try:
        with transaction.atomic():
            build = ReferenceBuild.objects.create(
                task=task, data_version=task.data_version, status_changed_at=timezone.now()
            )
    except IntegrityError:  # queued by another request since the read above
        return ReferenceBuild.objects.get(task=task, status__in=PENDING)
    lifecycle.publish_job_after_commit(job_type=TRIVIAL_BUILD, pk=build.pk)
    logger.info("task %s: trivial baseline build %s queued", task.slug, build.pk)
    return build


def reference_trivial_on_arrival(*, task_id: int) -> None:
    """A task arrived (``scoring.receivers``, in the import's transaction): its trivial
    baseline build is queued."""
    if not settings.BENCHMARK_ON_ARRIVAL:
        return
    task = Task.objects.filter(pk=task_id).first()
    if task is not None:
        reference_trivial_queue(task=task)


def reference_trivial_on_new_data(*, task_id: int) -> None:
    """A task got a new data version (``scoring.receivers``), after the references'
    refresh: a task left without a trivial baseline (none was built yet, or its rebuild
    failed) gets a build queued, unless one is pending."""
    if not settings.BENCHMARK_ON_ARRIVAL:
        return
    task = Task.objects.filter(pk=task_id).first()
    if task is None:
        return
    if not Reference.objects.filter(task=task, source=ReferenceSource.TRIVIAL).exists():
        reference_trivial_queue(task=task)


def reference_build_latest(*, task: Task) -> ReferenceBuild | None:
    """The task's newest trivial baseline build, if any (what its manage page says)."""
    return ReferenceBuild.objects.filter(task=task).order_by("-created_at", "-pk").first()


# --- building ----------------------------------------------------------------------------------


def reference_trivial_build(*, build_pk: int, delivery_id: str | None = None) -> str:
    """Build and score the trivial baseline of build ``build_pk``'s task; the status it
    ended in (or ``skipped``). Safe for any message, any number of times (see
    :func:`jobs.lifecycle.job_claim`). A database outage propagates (the Celery
    task retries it; the redelivery takes its own claim back)."""
    token = delivery_id or uuid.uuid4().hex
    build = lifecycle.job_claim(
        job_type=TRIVIAL_BUILD,
        pk=build_pk,
        token=token,
        delivery_id=delivery_id,
        exhausted=lambda job, now: {"error": INTERNAL_ERROR},
        select_related=("task",),
    )
    if build is None:
        return "skipped"
    task = build.task
    try:
        reference = reference_trivial_ensure(task=task)
    except (OperationalError, InterfaceError):
        raise
    except SoftTimeLimitExceeded:
        return _fail(build, token, "Building the trivial baseline took longer than its limit.")
    except (SubmissionInvalid, OSError, ValueError) as exc:
        # The task's own files cannot make one (unreadable train labels, a missing file).
        logger.warning("task %s: the trivial baseline cannot be built", task.slug, exc_info=True)
        message = getattr(exc, "message", None) or str(exc)
        return _fail(build, token, f"The trivial baseline cannot be built: {message}")
    except Exception:
        logger.exception("task %s: building the trivial baseline failed", task.slug)
        return lifecycle.job_retry_or_fail(
            job_type=TRIVIAL_BUILD,
            job=build,
            token=token,
            fail=lambda: _fail(build, token, INTERNAL_ERROR),
        )
    if reference is None:
        return _fail(build, token, "The task's train labels could not be read.")
    done = lifecycle.job_transition(
        job_type=TRIVIAL_BUILD,
        pk=build.pk,
        token=token,
        status=ReferenceBuildStatus.BUILT,
        error="",
        then=lambda: hooks.emit(event=hooks.TaskResultsChanged(task_id=task.pk)),
    )
    logger.info("task %s: trivial baseline built (build %s)", task.slug, build.pk)
    return ReferenceBuildStatus.BUILT if done else "superseded"


def _fail(build: ReferenceBuild, token: str, error: str) -> str:
    done = lifecycle.job_transition(
        job_type=TRIVIAL_BUILD,
        pk=build.pk,
        token=token,
        status=ReferenceBuildStatus.FAILED,
        error=error,
    )
    return ReferenceBuildStatus.FAILED if done else "superseded"


# --- the sweeper -------------------------------------------------------------------------------


@when_holder_lost(job_type=TRIVIAL_BUILD)
def _decide(build: ReferenceBuild, now: datetime) -> tuple[str, dict[str, Any]]:
    """A stranded build (its worker dead) goes back to the queue while it has attempts left;
    else it fails with the reason."""
    if lifecycle.attempts_left(job_type=TRIVIAL_BUILD, job=build) <= 0:
        return lifecycle.FAILED, {"error": INTERNAL_ERROR}
    return lifecycle.REQUEUED, {}


def reference_builds_sweep(*, now: datetime | None = None) -> sweeps.SweepReport:
    """Re-queue builds stuck in ``building`` past ``SWEEPER_STALE_AFTER_SECONDS`` (the last
    resort: a queued build whose message was lost is :mod:`jobs.republish`'s)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SWEEPER_STALE_AFTER_SECONDS)
    stale = Q(status=ReferenceBuildStatus.BUILDING) & (
        Q(status_changed_at__lt=cutoff) | Q(status_changed_at__isnull=True)
    )
    return sweeps.jobs_sweep(job_type=TRIVIAL_BUILD, stale=stale, now=now, decide=_decide)
