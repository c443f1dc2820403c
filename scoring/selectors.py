"""Reads of the scoring app: whose submissions a user may see, and what of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from challenge_platform.models import Team
from challenge_platform.selectors import is_organizer
from challenge_platform.split_access import private_visible
from common.splits import SHOWN_ORDER
from datasets.models import Task
from jobs.changes import JobState, row_key
from scoring.models import Submission, SubmissionStatus

PENDING = (SubmissionStatus.QUEUED, SubmissionStatus.SCORING)
User = AbstractBaseUser | AnonymousUser


def submission_list(*, user: User, task_slug: str | None = None) -> QuerySet[Submission]:
    """The submissions ``user`` may see, newest first: their teams' ones; organizers all."""
    submissions = Submission.objects.select_related(
        "task__track__challenge", "team", "uploaded_by"
    ).order_by("-created_at", "-id")
    if not user.is_authenticated:
        return submissions.none()
    if not is_organizer(user=user):
        submissions = submissions.filter(team__memberships__user=user)
    if task_slug:
        submissions = submissions.filter(task__slug=task_slug)
    return submissions


def submission_status_state(*, submission_pk: int) -> JobState:
    """What a waiting read of the submission watches (``jobs.api_wait``): its status and when
    it last changed; final once scored or failed. The caller has checked who may see it."""
    row = (
        Submission.objects.filter(pk=submission_pk)
        .values_list("status", "status_changed_at")
        .first()
    )
    status = row[0] if row else None
    return JobState(
        parts=tuple(row or ()),
        final=status is None or status not in PENDING,
        keys=(row_key(Submission, submission_pk),),
    )


def submission_get(*, user: User, submission_pk: int) -> Submission | None:
    """One submission if ``user`` may see it (own team or organizer), else None."""
    return submission_list(user=user).filter(pk=submission_pk).first()


def private_scores_visible(*, submission: Submission, user: User) -> bool:
    """Private and all-rows scores: for organizers always, for others once revealed."""
    return private_visible(challenge=submission.task.track.challenge, user=user)


def submission_visible_scores(*, submission: Submission, user: User) -> dict[str, dict]:
    """``{"public": {...}}``, plus ``"private"`` and ``"all"`` when ``user`` may see them."""
    scores = submission.scores or {}
    visible = private_scores_visible(submission=submission, user=user)
    splits = SHOWN_ORDER if visible else ("public",)
    return {split: dict(scores[split]) for split in splits if split in scores}


def next_utc_midnight(*, at: datetime) -> datetime:
    day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1)


@dataclass(frozen=True)
class DailyUsage:
    """How many of today's (UTC) submissions a team has used on a task."""

    used: int
    limit: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


def submission_daily_usage_for_user(
    *, user: AbstractBaseUser, task: Task, at: datetime | None = None
) -> DailyUsage:
    """The person's own count, over every team: uploads they made, algorithm runs they
    started (the run's submission is uploaded by them). Same window and limit as a team's."""
    return _daily_usage(Submission.objects.filter(uploaded_by=user, task=task), task, at)


def submission_daily_usage(*, team: Team, task: Task, at: datetime | None = None) -> DailyUsage:
    """Queued, scoring and scored submissions since the last UTC midnight (failed are free)."""
    return _daily_usage(Submission.objects.filter(team=team, task=task), task, at)


def _daily_usage(submissions: QuerySet[Submission], task: Task, at: datetime | None) -> DailyUsage:
    """``submissions`` made since the last UTC midnight before ``at`` (failed ones are free),
    against the challenge's daily limit."""
    resets_at = next_utc_midnight(at=at or timezone.now())
    used = (
        submissions.filter(created_at__gte=resets_at - timedelta(days=1))
        .exclude(status=SubmissionStatus.FAILED)
        .count()
    )
    return DailyUsage(
        used=used, limit=task.track.challenge.daily_submission_limit, resets_at=resets_at
    )


def submission_algorithm(*, submission: Submission) -> dict | None:
    """The algorithm and version that made ``submission``: the algorithm run it came from
    (the ``algorithm_run`` reverse one-to-one of ``algorithms.AlgorithmRun``, read without
    importing the app above; a team's run or the built-in AutoGluon baseline's), None for an
    uploaded file. ``{"id", "name", "version", "run"}`` (``run``: the run's id)."""
    try:
        run = submission.algorithm_run
    except (ObjectDoesNotExist, AttributeError):
        return None
    version = run.version
    return {
        "id": version.algorithm_id,
        "name": version.algorithm.name,
        "version": version.number,
        "run": run.pk,
    }


def scorings_waiting() -> bool:
    """Whether a submission is queued for a scoring worker (any task): work that a slot
    taken by something that can wait (a board's intervals) would delay."""
    return Submission.objects.filter(status=SubmissionStatus.QUEUED).exists()


def team_uploaded_files(*, team_pk: int) -> tuple[int, int]:
    """``(files, bytes)`` of the prediction files the team's members uploaded (the team's
    share of the storage quota, ``challenge_platform.upload_budget``); the files a job made
    for it (baselines, algorithm runs) are not theirs to count."""
    found = Submission.objects.filter(team_id=team_pk, uploaded_by__isnull=False).aggregate(
        files=Count("pk"), size=Sum("file_size")
    )
    return found["files"], found["size"] or 0
