"""Queueing, cancelling and sweeping runs: one of each for every profile (the job lifecycle).

``queued -> running -> succeeded | failed | cancelled``; ``queued -> cancelled``. A run is
published by name to its profile's queue after its row commits (:func:`run_create`); the
sweeper (:func:`algorithm_runs_sweep`) publishes again what a lost message left ``queued``,
and ends or re-queues a run whose worker stopped beating while ``running``. The queueing
rules of the baseline are in :mod:`algorithms.services.baseline`; a team's and an
organizer's are here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from algorithms.job_types import RUN_TYPES
from algorithms.models import ACTIVE, Algorithm, AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion
from algorithms.services.common import AlgorithmRefused
from algorithms.services.dispatch import lost_message
from algorithms.services.profiles import (
    ORGANIZER,
    PROFILES,
    TEAM,
    RunProfile,
    profile_of,
)
from algorithms.services.upload import uploading_team
from challenges.audit import audit_record, reason_check
from challenges.models import Challenge, Phase, Team
from challenges.rules import rules_gate
from challenges.selectors import is_organizer, user_is_member
from datasets.models import Task
from jobs import lifecycle, sweeps
from jobs.cancel import JobAlreadyFinished, job_cancel
from jobs.holders import when_holder_lost
from scoring.selectors import submission_daily_limit, submission_daily_usage
from scoring.services.upload import SubmissionRefused, arrival_phase, submission_phase

logger = logging.getLogger(__name__)

# A running run whose heartbeat is older than this has lost its worker.
RUNNING_STALE_SECONDS = 300


class _Ask:
    """``run_create``'s phase when its caller has not read it: the one open now."""


_ASK = _Ask()


def run_create(
    *,
    profile: RunProfile,
    version: AlgorithmVersion,
    task: Task,
    user: Any = None,
    options: Mapping[str, Any] | None = None,
    audit: bool = True,
    seed: int | None = None,
    limits: Mapping[str, Any] | None = None,
    reproduces: AlgorithmRun | None = None,
    phase: Phase | _Ask | None = _ASK,
) -> AlgorithmRun:
    """Inside a transaction: a queued run of ``version`` on ``task`` under ``profile``, with
    the profile's limits for ``options`` (or ``limits``: a reproduction repeats its
    original's) and the seed (default ``ALGORITHM_SEED``) stored on it (the row is what the
    worker enforces), published to the profile's queue on commit and, with ``audit``, in the
    audit log. ``phase``: the phase the request arrived in, when the caller has read it (None
    after the end); else the one open now."""
    options = dict(options or {})
    run = AlgorithmRun.objects.create(
        version=version,
        task=task,
        profile=profile.name,
        status=AlgorithmRunStatus.QUEUED,
        status_changed_at=timezone.now(),
        started_by=user if getattr(user, "pk", None) else None,
        options=options,
        limits=dict(limits) if limits is not None else profile.limits(options=options).as_dict(),
        seed=int(settings.ALGORITHM_SEED) if seed is None else seed,
        reproduces=reproduces,
        phase=arrival_phase(task=task) if isinstance(phase, _Ask) else phase,
    )
    lifecycle.publish_job_after_commit(job_type=profile.job_type, pk=run.pk)
    if audit:
        audit_record(
            actor=user, action=f"{profile.audit_action}.start", obj=run, after=options or None
        )
    return run


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
    organizer = is_organizer(user=user)
    if not member and not organizer:
        raise AlgorithmRefused("not_found", "No such algorithm.", 404)
    version = algorithm.versions.order_by("-number").first()
    if version is None:
        raise AlgorithmRefused("no_version", "The algorithm has no uploaded version.", 409)
    tasks = _tasks(
        challenge_id=algorithm.challenge_id, task_slugs=task_slugs, track_slug=track_slug
    )
    organizer_run = organizer and not member
    # One challenge, one phase for every task: read once (a team's at its admission).
    phase = (
        arrival_phase(task=tasks[0])
        if organizer_run
        else _check_team_may_run(team=algorithm.team, user=user, tasks=tasks)
    )
    profile = ORGANIZER if organizer_run else TEAM
    with transaction.atomic():
        if not organizer_run:
            Team.objects.select_for_update().filter(pk=algorithm.team_id).values_list("pk").get()
            _check_room(team=algorithm.team, tasks=tasks, phase=phase)
        # A team running its own algorithm is a submission, not an audited action.
        runs = [
            run_create(
                profile=profile,
                version=version,
                task=task,
                user=user,
                audit=organizer_run,
                phase=phase,
            )
            for task in tasks
        ]
    logger.info(
        "algorithm %s v%s queued on %s (%s)",
        algorithm.pk,
        version.number,
        [t.slug for t in tasks],
        "organizer" if organizer_run else "team",
    )
    return runs


def algorithm_runs_admission(
    *,
    challenge: Challenge,
    user: AbstractBaseUser | AnonymousUser,
    task_slugs: Sequence[str] = (),
    track_slug: str = "",
) -> list[Task]:
    """The tasks a run of the caller's team would be queued on, or the refusal
    (:class:`AlgorithmRefused` / ``RulesNotAccepted``) queueing it would meet: rules, a
    hidden team, the challenge's dates, the daily limits. Asked before an upload (``chal
    algorithm submit``), so nothing is uploaded that cannot run; changes nothing."""
    if not user.is_authenticated:
        raise AlgorithmRefused("not_authenticated", "Log in to run an algorithm.", 401)
    team = uploading_team(user=user, challenge=challenge)
    tasks = _tasks(challenge_id=challenge.pk, task_slugs=task_slugs, track_slug=track_slug)
    phase = _check_team_may_run(team=team, user=user, tasks=tasks)
    _check_room(team=team, tasks=tasks, phase=phase)
    return tasks


def _check_team_may_run(
    *, team: Team, user: AbstractBaseUser | AnonymousUser, tasks: list[Task]
) -> Phase | None:
    """A team member's run submits: the upload's gates (rules, team, dates). The phase its
    submissions will belong to (None after the end)."""
    rules_gate(challenge=tasks[0].track.challenge, user=user)
    return _check_participant(team=team, tasks=tasks)


def _tasks(*, challenge_id: int, task_slugs: Sequence[str], track_slug: str) -> list[Task]:
    challenge_tasks = Task.objects.select_related("track__challenge").filter(
        track__challenge_id=challenge_id
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


def _check_participant(*, team: Team, tasks: list[Task]) -> Phase | None:
    if team.is_hidden:
        raise AlgorithmRefused("team_hidden", team.hidden_refusal("cannot run algorithms"), 403)
    challenge = tasks[0].track.challenge
    # After the end the challenge is the post-challenge benchmark: a run submits as an upload
    # would then, to each task's post-challenge board, never into the frozen standings.
    if timezone.now() < challenge.start:
        raise AlgorithmRefused(
            "not_open",
            f"The challenge opens on {challenge.start:%Y-%m-%d %H:%M} UTC; an algorithm run "
            "submits, so it cannot run before then.",
            403,
        )
    try:  # between two phases an algorithm run is refused as an upload is
        return submission_phase(challenge=challenge)
    except SubmissionRefused as refused:
        raise AlgorithmRefused(refused.code, refused.message, refused.http_status) from None


def _check_room(*, team: Team, tasks: list[Task], phase: Phase | None) -> None:
    """Room for one run on each of ``tasks``: in the team's queue and in each task's daily
    limit while ``phase`` is open. The team's pending runs are counted once for both."""
    pending, pending_on = _pending_runs(team=team, tasks=tasks)
    _check_queue_room(pending=pending, adding=len(tasks))
    _check_daily_limits(team=team, tasks=tasks, phase=phase, pending_on=pending_on)


def _pending_runs(*, team: Team, tasks: list[Task]) -> tuple[int, dict[int, int]]:
    """The team's queued and running runs (of the team's own profile), in all and on each of
    ``tasks`` (by task pk), in one query."""
    by_task = {f"task_{task.pk}": Count("pk", filter=Q(task_id=task.pk)) for task in tasks}
    counts = AlgorithmRun.objects.filter(
        version__algorithm__team=team, status__in=ACTIVE, profile=TEAM.name
    ).aggregate(all=Count("pk"), **by_task)
    return counts["all"], {task.pk: counts[f"task_{task.pk}"] for task in tasks}


def _check_queue_room(*, pending: int, adding: int) -> None:
    """A team's queued and running runs (``pending``) stay under
    ``ALGORITHM_MAX_PENDING_RUNS_PER_TEAM``: fair share orders the queue, the cap keeps one
    team from filling it (and the workers' next hours) in the first place."""
    cap = int(settings.ALGORITHM_MAX_PENDING_RUNS_PER_TEAM)
    if cap <= 0:
        return
    if pending + adding > cap:
        raise AlgorithmRefused(
            "queue_full",
            f"Your team has {pending} run{'s' if pending != 1 else ''} queued or running; a "
            f"team may have at most {cap} at once, so {adding} more cannot be queued. Wait "
            "for some to finish, or cancel some.",
            429,
        )


def _check_daily_limits(
    *, team: Team, tasks: list[Task], phase: Phase | None, pending_on: dict[int, int]
) -> None:
    """Each run will submit once: today's submissions plus the team's pending runs on the
    task (``pending_on``) must leave room for it, under the limit of ``phase``."""
    over = []
    for task in tasks:
        limit = submission_daily_limit(task=task, open_phase=phase)
        usage = submission_daily_usage(team=team, task=task, limit=limit)
        if usage.used + pending_on[task.pk] >= usage.limit:
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
    """The one cancel of every run: a queued run is cancelled at once; a running one is
    flagged and its sandbox (its whole process group) killed within a few seconds. Raises
    :class:`AlgorithmRefused` when it already finished.

    A person outside the run's team (an organizer) is audited; cancelling a participant
    team's run needs a reason then (``ReasonRequired``), the baseline team's does not.
    """
    profile = profile_of(run=run)
    team = run.version.algorithm.team
    outsider = actor is not None and not user_is_member(team=team, user=actor)
    needs_reason = outsider and not team.is_baseline
    action = f"{profile.audit_action}.cancel"
    with transaction.atomic():
        current = AlgorithmRun.objects.select_for_update().get(pk=run.pk)
        if current.status in ACTIVE:
            reason_check(action=action, reason=reason, actor=actor, required=needs_reason)
        before = {"status": current.status, "cancel_requested": current.cancel_requested}
        try:
            locked = job_cancel(
                job_type=profile.job_type,
                pk=run.pk,
                cancelled=AlgorithmRunStatus.CANCELLED,
                message_field="error",
            )
        except JobAlreadyFinished as done:
            raise AlgorithmRefused(
                "finished", f"Run #{done.job.pk} has already finished ({done.job.status}).", 409
            ) from None
        if outsider:
            audit_record(
                actor=actor,
                action=action,
                obj=locked,
                before=before,
                after={"status": locked.status, "cancel_requested": locked.cancel_requested},
                reason=reason,
                reason_required=needs_reason,
            )
    return locked


def algorithm_runs_sweep(*, now: datetime | None = None) -> sweeps.SweepReport:
    """The one sweeper of every run, per profile: a run ``running`` without a heartbeat for
    ``RUNNING_STALE_SECONDS`` (or for longer than its worker's hard time limit) lost its
    worker: cancelled when a cancel was requested, re-queued while its profile allows
    another attempt, else failed. (A run a lost message left ``queued`` is published again
    by :mod:`jobs.republish`.)"""
    now = now or timezone.now()
    report = sweeps.SweepReport()
    beat_cutoff = now - timedelta(seconds=RUNNING_STALE_SECONDS)
    for profile in PROFILES.values():
        limit_cutoff = now - timedelta(seconds=profile.hard_time_limit() + 60)
        stale = Q(profile=profile.name, status=AlgorithmRunStatus.RUNNING) & (
            Q(heartbeat_at__lt=beat_cutoff)
            | Q(heartbeat_at__isnull=True, status_changed_at__lt=beat_cutoff)
            | Q(status_changed_at__lt=limit_cutoff)
            | Q(status_changed_at__isnull=True)
        )

        def decide(run: AlgorithmRun, now: datetime, profile: RunProfile = profile):
            return _decide(profile, run, now)

        sweeps.jobs_sweep(
            job_type=profile.job_type, stale=stale, now=now, decide=decide, report=report
        )
    return report


def _decide(profile: RunProfile, run: AlgorithmRun, now: datetime) -> tuple[str, dict[str, Any]]:
    quiet = (now - (run.heartbeat_at or run.status_changed_at or now)).total_seconds()
    why = f"no heartbeat for {quiet:.0f} s"
    if run.cancel_requested:
        return lifecycle.FAILED, {
            "status": AlgorithmRunStatus.CANCELLED,
            "error": f"cancelled; its worker was lost ({why})",
        }
    if lifecycle.attempts_left(job_type=profile.job_type, job=run) > 0:
        return lifecycle.REQUEUED, {}
    return lifecycle.FAILED, {"error": lost_message(profile=profile, run=run, now=now, why=why)}


def _decide_lost(run: AlgorithmRun, now: datetime) -> tuple[str, dict[str, Any]]:
    """A run whose worker was seen dead (:mod:`jobs.liveness`): decided by its own
    profile, as a stale one."""
    return _decide(profile_of(run=run), run, now)


for _run_type in RUN_TYPES.values():
    when_holder_lost(job_type=_run_type)(_decide_lost)
