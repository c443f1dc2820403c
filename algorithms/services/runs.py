"""Queueing, cancelling and sweeping algorithm runs (the shared job lifecycle).

``queued -> running -> succeeded | failed | cancelled``; ``queued -> cancelled``. A run is
published to the ``algorithms`` queue by name after its row commits; the sweeper publishes
again what a lost message left ``queued``, and re-queues (or fails, when its attempts are
used) a run whose worker died while ``running``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from algorithms.models import ACTIVE, Algorithm, AlgorithmRun, AlgorithmRunStatus
from algorithms.services.common import ALGORITHM_RUN, AlgorithmRefused, sandbox_limits
from challenge_platform import jobs
from challenge_platform.audit import audit_record, reason_check
from challenge_platform.models import Team
from challenge_platform.rules import rules_gate
from challenge_platform.selectors import is_organizer, user_is_member
from datasets.models import Task
from scoring.selectors import submission_daily_usage

logger = logging.getLogger(__name__)

WORKER_LOST = (
    "The worker running this algorithm stopped (killed, restarted or past its time limit) "
    "and the run used its {attempts} attempts; run it again."
)


def algorithm_runs_queue(
    *,
    algorithm: Algorithm,
    user: AbstractBaseUser | AnonymousUser,
    task_slugs: Sequence[str] = (),
    track_slug: str = "",
) -> list[AlgorithmRun]:
    """Queue the algorithm's latest version on each task named (or every task of the track).

    A team member's runs become the team's submissions and count against its daily limit,
    checked here for every task before anything is queued (and again when the run submits).
    An organizer outside the team may run any algorithm on any task of its challenge: such
    runs feed the transfer matrix only and use no daily limit. Raises
    :class:`AlgorithmRefused` when nothing may be queued; then nothing is.
    """
    if not user.is_authenticated:
        raise AlgorithmRefused("not_authenticated", "Log in to run an algorithm.", 401)
    member = user_is_member(team=algorithm.team, user=user)
    organizer = is_organizer(user)
    if not member and not organizer:
        raise AlgorithmRefused("not_found", "No such algorithm.", 404)
    version = algorithm.versions.order_by("-number").first()
    if version is None:
        raise AlgorithmRefused("no_version", "The algorithm has no uploaded version.", 409)
    tasks = _tasks(algorithm=algorithm, task_slugs=task_slugs, track_slug=track_slug)
    organizer_run = organizer and not member
    if not organizer_run:
        rules_gate(challenge=algorithm.challenge, user=user)  # a run submits: same gate
        _check_participant(team=algorithm.team, tasks=tasks)
    limits = sandbox_limits().as_dict()
    with transaction.atomic():
        if not organizer_run:
            Team.objects.select_for_update().filter(pk=algorithm.team_id).values_list("pk").get()
            _check_daily_limits(team=algorithm.team, tasks=tasks)
        runs = [
            AlgorithmRun.objects.create(
                version=version,
                task=task,
                status=AlgorithmRunStatus.QUEUED,
                status_changed_at=timezone.now(),
                started_by=user,
                is_organizer_run=organizer_run,
                limits=limits,
            )
            for task in tasks
        ]
        for run in runs:
            jobs.publish_job_after_commit(ALGORITHM_RUN, pk=run.pk)
            if organizer_run:  # a team running its own algorithm is a submission, not audited
                audit_record(actor=user, action="algorithm_run.start", obj=run)
    logger.info(
        "algorithm %s v%s queued on %s (%s)",
        algorithm.pk,
        version.number,
        [t.slug for t in tasks],
        "organizer" if organizer_run else "team",
    )
    return runs


def _tasks(*, algorithm: Algorithm, task_slugs: Sequence[str], track_slug: str) -> list[Task]:
    challenge_tasks = Task.objects.select_related("track__challenge").filter(
        track__challenge_id=algorithm.challenge_id
    )
    if track_slug:
        if task_slugs:
            raise AlgorithmRefused("bad_request", "Give either 'tasks' or 'track', not both.")
        tasks = list(challenge_tasks.filter(track__slug=track_slug).order_by("order", "slug"))
        if not tasks:
            raise AlgorithmRefused(
                "unknown_track", f"The challenge has no track '{track_slug}' with tasks.", 400
            )
        return tasks
    if not task_slugs:
        raise AlgorithmRefused("bad_request", "Name the tasks ('tasks') or a track ('track').")
    slugs = list(dict.fromkeys(str(slug) for slug in task_slugs))
    found = {task.slug: task for task in challenge_tasks.filter(slug__in=slugs)}
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        raise AlgorithmRefused(
            "unknown_task",
            "The challenge has no task " + ", ".join(f"'{slug}'" for slug in missing) + ".",
        )
    return [found[slug] for slug in slugs]


def _check_participant(*, team: Team, tasks: list[Task]) -> None:
    if team.is_hidden:
        raise AlgorithmRefused(
            "team_hidden", "Your team has been hidden by the organizers; contact them.", 403
        )
    challenge = tasks[0].track.challenge
    now = timezone.now()
    if not challenge.start <= now < challenge.end:
        raise AlgorithmRefused(
            "closed",
            f"The challenge accepts submissions from {challenge.start:%Y-%m-%d %H:%M} to "
            f"{challenge.end:%Y-%m-%d %H:%M} UTC; an algorithm run submits, so it cannot run "
            "now.",
            403,
        )


def _check_daily_limits(*, team: Team, tasks: list[Task]) -> None:
    """Each run will submit once: today's submissions plus the team's pending runs on the
    task must leave room for it."""
    over = []
    for task in tasks:
        usage = submission_daily_usage(team=team, task=task)
        pending = AlgorithmRun.objects.filter(
            version__algorithm__team=team,
            task=task,
            status__in=ACTIVE,
            is_organizer_run=False,
        ).count()
        if usage.used + pending >= usage.limit:
            over.append((task, usage))
    if over:
        names = ", ".join(f"'{task.slug}'" for task, _ in over)
        resets = over[0][1].resets_at
        raise AlgorithmRefused(
            "daily_limit",
            f"Your team has no submissions left today on {names} (each run submits once; "
            f"queued runs count); the limit resets at {resets:%Y-%m-%d %H:%M} UTC.",
            429,
        )


def algorithm_run_cancel(*, run: AlgorithmRun, actor: Any = None, reason: str = "") -> AlgorithmRun:
    """A queued run is cancelled at once; a running one is flagged and its sandbox killed
    within about a second. Raises :class:`AlgorithmRefused` when it already finished.
    An organizer cancelling another team's run must say why (``ReasonRequired``)."""
    team = run.version.algorithm.team
    affects_team = actor is not None and not user_is_member(team=team, user=actor)
    with transaction.atomic():
        current = AlgorithmRun.objects.select_for_update().get(pk=run.pk)
        if current.status in (AlgorithmRunStatus.QUEUED, AlgorithmRunStatus.RUNNING):
            reason_check(
                action="algorithm_run.cancel", reason=reason, actor=actor, required=affects_team
            )
        before = {"status": current.status, "cancel_requested": current.cancel_requested}
        try:
            locked = jobs.job_cancel(
                ALGORITHM_RUN,
                pk=run.pk,
                cancelled=AlgorithmRunStatus.CANCELLED,
                message_field="error",
            )
        except jobs.JobAlreadyFinished as done:
            raise AlgorithmRefused(
                "finished", f"Run #{done.job.pk} has already finished ({done.job.status}).", 409
            ) from None
        if affects_team:
            audit_record(
                actor=actor,
                action="algorithm_run.cancel",
                obj=locked,
                before=before,
                after={"status": locked.status, "cancel_requested": locked.cancel_requested},
                reason=reason,
                reason_required=True,
            )
    return locked


def algorithm_runs_sweep(*, now: datetime | None = None) -> jobs.SweepReport:
    """Publish again the runs a lost message left ``queued``; re-queue (or fail, when its
    attempts are used up) a run ``running`` for longer than the worker's hard time limit,
    which only a dead worker allows."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ALGORITHM_HARD_TIME_LIMIT + 60)
    stale = Q(status__in=ACTIVE) & (
        Q(status_changed_at__lt=cutoff) | Q(status_changed_at__isnull=True)
    )
    return jobs.jobs_sweep(ALGORITHM_RUN, stale=stale, now=now, decide=_decide)


@jobs.when_holder_lost(ALGORITHM_RUN)
def _decide(run: AlgorithmRun, now: datetime) -> tuple[str, dict[str, Any]]:
    if run.status == AlgorithmRunStatus.QUEUED:
        return jobs.REQUEUED, {}
    if run.cancel_requested:
        return jobs.FAILED, {
            "status": AlgorithmRunStatus.CANCELLED,
            "error": "cancelled; its worker was lost",
        }
    if jobs.attempts_left(ALGORITHM_RUN, run) > 0:
        return jobs.REQUEUED, {}
    return jobs.FAILED, {"error": WORKER_LOST.format(attempts=run.attempts)}
