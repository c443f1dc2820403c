"""Reads of the scoring app: whose submissions a user may see, and what of them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from challenges.models import Phase, Team
from challenges.phases import phase_open, submission_figures_visible
from challenges.selectors import is_organizer
from challenges.split_access import private_visible
from challenges.upload_budget import StoredFiles
from common import board_modes
from common.rates import next_utc_midnight
from common.splits import SHOWN_ORDER
from datasets.models import Task
from jobs.changes import JobState, row_key
from scoring.models import Reference, ReferenceSource, Submission, SubmissionStatus

PENDING = (SubmissionStatus.QUEUED, SubmissionStatus.SCORING)
User = AbstractBaseUser | AnonymousUser


def submission_list(*, user: User, task_slug: str | None = None) -> QuerySet[Submission]:
    """The submissions ``user`` may see, newest first: their teams' ones; organizers all."""
    submissions = Submission.objects.select_related(
        "task__track__challenge", "team", "uploaded_by", "ladder_step", "phase__challenge"
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
        keys=(row_key(model=Submission, pk=submission_pk),),
    )


def submission_get(*, user: User, submission_pk: int) -> Submission | None:
    """One submission if ``user`` may see it (own team or organizer), else None."""
    return submission_list(user=user).filter(pk=submission_pk).first()


def private_scores_visible(*, submission: Submission, user: User) -> bool:
    """Private and all-rows scores: for organizers always, for others once revealed."""
    return private_visible(challenge=submission.task.track.challenge, user=user)


def public_scores_shown(*, task: Task, user: User) -> bool:
    """Exact public scores of ``task``'s entries (docs/organizers/ladder.md): on a plain board for
    everyone; on a ladder board for organizers, and for everyone once the private split is
    revealed (the holdout has then done its work). Everyone else sees shown scores only.

    The one rule for every figure computed on the task's exact public rows (decision 0068):
    a score, an interval, a rank set or tier, a champion verdict or crowning, a release
    check's answer. A reader for whom it is False gets none of them on the public split but
    the ladder's shown score (docs/organizers/disclosure.md)."""
    return not board_modes.is_ladder(task.public_board) or private_visible(
        challenge=task.track.challenge, user=user
    )


def submission_visible_scores(*, submission: Submission, user: User) -> dict[str, dict]:
    """``{"public": {...}}``, plus ``"private"`` and ``"all"`` when ``user`` may see them.

    On a ladder board (:func:`public_scores_shown` false) ``"public"`` holds only the
    primary metric's shown score, and only for an entry that climbed: no exact figure of
    the public rows."""
    scores = submission.scores or {}
    if not submission_figures_visible(submission=submission, user=user):
        return {}  # a blind phase's entry before the reveal: scored, and nothing else
    if not public_scores_shown(task=submission.task, user=user):
        shown = submission_ladder(submission=submission)["shown_score"]
        metric = submission.task.primary_metric
        return {"public": {} if shown is None else {metric: shown}} if "public" in scores else {}
    visible = private_scores_visible(submission=submission, user=user)
    splits = SHOWN_ORDER if visible else ("public",)
    return {split: dict(scores[split]) for split in splits if split in scores}


def submissions_shown(*, submissions: list[Submission], user: User) -> list[Submission]:
    """``submissions`` for a list a reader sees (their page, their team's page), each with
    ``shown_public`` (its public primary score as ``user`` may see it:
    :func:`submission_visible_scores`), ``ladder`` (:func:`submission_ladder`) and
    ``laddered`` (its task's board is a ladder board)."""
    for s in submissions:
        public = submission_visible_scores(submission=s, user=user).get("public") or {}
        s.shown_public = public.get(s.task.primary_metric)
        s.blind = not submission_figures_visible(submission=s, user=user)
        s.ladder = (
            {"shown_score": None, "climbed": False, "team_shown_score": None}
            if s.blind
            else submission_ladder(submission=s)
        )
        s.laddered = board_modes.is_ladder(s.task.public_board)
    return submissions


def shown_score_decimals(*, submission: Submission) -> int:
    """The decimals a shown public score of ``submission`` has: its step's on a ``ladder`` or
    ``ladder-step`` board (2 on 2,000 public rows: 0.62, never 0.620000), else 4 (the
    bootstrap rule's mean of 10 scores)."""
    try:
        step = submission.ladder_step
    except (ObjectDoesNotExist, AttributeError):
        step = None
    if submission.task.public_board in board_modes.ROUNDED and step is not None and step.units:
        return board_modes.shown_decimals(step.units)
    return 4


def submission_ladder(*, submission: Submission) -> dict[str, object]:
    """The entry's place on its team's ladder (docs/organizers/ladder.md), as everyone may see it:
    ``shown_score``, the public score shown for it (plain board: its exact score; ladder:
    its shown score when it climbed, else None), ``climbed`` (it moved the team's shown
    score; plain: it beat the team's best) and ``team_shown_score``, the team's shown
    score after it. Read from its ``ladder_step`` (``leaderboard.boards.ladder``: the board's
    refresh decides it; until then it has not climbed)."""
    try:
        step = submission.ladder_step
    except (ObjectDoesNotExist, AttributeError):
        step = None
    mode = submission.task.public_board
    if step is not None and step.mode != mode:
        step = None  # decided under another mode: weighed again at the board's next refresh
    if submission.status != SubmissionStatus.SCORED:
        return {"shown_score": None, "climbed": False, "team_shown_score": None}
    if not board_modes.is_ladder(mode):
        shown = submission.public_score
    else:
        shown = step.shown_score if step is not None and step.climbed else None
    return {
        "shown_score": shown,
        "climbed": bool(step and step.climbed),
        "team_shown_score": step.shown_score if step is not None else None,
    }


@dataclass(frozen=True)
class DailyUsage:
    """How many of today's (UTC) submissions a team has used on a task."""

    used: int
    limit: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


def submission_daily_usages(
    *, team: Team, user: AbstractBaseUser, task: Task, limit: int | None = None
) -> tuple[DailyUsage, DailyUsage]:
    """The team's usage (:func:`submission_daily_usage`) and the person's own over every
    team (uploads they made, algorithm runs they started: the run's submission is uploaded
    by them), in one query, same window and limit."""
    resets_at = next_utc_midnight(at=timezone.now())
    mine = Submission.objects.filter(Q(team=team) | Q(uploaded_by=user), task=task)
    counted = _made_today(mine, resets_at).aggregate(
        team=Count("pk", filter=Q(team=team)), own=Count("pk", filter=Q(uploaded_by=user))
    )
    limit = _limit_today(task, None, limit)
    return (
        DailyUsage(used=counted["team"], limit=limit, resets_at=resets_at),
        DailyUsage(used=counted["own"], limit=limit, resets_at=resets_at),
    )


def submission_daily_usage(
    *, team: Team, task: Task, at: datetime | None = None, limit: int | None = None
) -> DailyUsage:
    """Queued, scoring and scored submissions since the last UTC midnight (failed are free).
    ``limit``: today's limit when the caller has it already (:func:`submission_daily_limit`
    of the phase it found open at ``at``), else it is asked."""
    return _daily_usage(Submission.objects.filter(team=team, task=task), task, at, limit)


def _daily_usage(
    submissions: QuerySet[Submission], task: Task, at: datetime | None, limit: int | None
) -> DailyUsage:
    """``submissions`` made since the last UTC midnight before ``at`` (failed ones are free),
    against the challenge's daily limit."""
    resets_at = next_utc_midnight(at=at or timezone.now())
    used = _made_today(submissions, resets_at).count()
    return DailyUsage(used=used, limit=_limit_today(task, at, limit), resets_at=resets_at)


def _made_today(submissions: QuerySet[Submission], resets_at: datetime) -> QuerySet[Submission]:
    """What a daily limit counts of ``submissions``: those made since the UTC midnight before
    ``resets_at``, the failed ones free."""
    return submissions.filter(created_at__gte=resets_at - timedelta(days=1)).exclude(
        status=SubmissionStatus.FAILED
    )


def _limit_today(task: Task, at: datetime | None, limit: int | None) -> int:
    """``limit`` when the caller has it already, else the one of the phase open at ``at``."""
    if limit is None:
        open_phase = phase_open(challenge=task.track.challenge, at=at)
        limit = submission_daily_limit(task=task, open_phase=open_phase)
    return limit


def submission_daily_limit(*, task: Task, open_phase: Phase | None) -> int:
    """Today's limit of a team's (and a person's) submissions to ``task`` while
    ``open_phase`` is the open phase (:func:`challenges.phases.phase_open`): the phase's own
    daily limit, else the challenge's."""
    if open_phase is not None and open_phase.daily_submission_limit is not None:
        return open_phase.daily_submission_limit
    return task.track.challenge.daily_submission_limit


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


def submissions_pending(*, task_ids: Iterable[int]) -> dict[tuple[int, int], str]:
    """(task id, team id) -> ``"queued"`` or ``"running"`` (scoring; running wins): the
    submissions not yet scored that a task's board will rank (shown, of a shown team, made
    before the challenge's end)."""
    found: dict[tuple[int, int], str] = {}
    rows = Submission.objects.filter(
        task_id__in=list(task_ids),
        status__in=(SubmissionStatus.QUEUED, SubmissionStatus.SCORING),
        is_hidden=False,
        team__is_hidden=False,
        created_at__lt=F("task__track__challenge__end"),
    ).values_list("task_id", "team_id", "status")
    for task_id, team_id, status in rows:
        state = "running" if status == SubmissionStatus.SCORING else "queued"
        if found.get((task_id, team_id)) != "running":
            found[(task_id, team_id)] = state
    return found


def scorings_waiting() -> bool:
    """Whether a submission is queued for a scoring worker (any task): work that a slot
    taken by something that can wait (a board's intervals) would delay."""
    return Submission.objects.filter(status=SubmissionStatus.QUEUED).exists()


def team_uploaded_files(*, team_pk: int) -> list[StoredFiles]:
    """The prediction files the team's members uploaded (the team's share of the storage
    quota, ``challenges.upload_budget``); the files a job made for it (baselines, algorithm
    runs) are not theirs to count."""
    rows = Submission.objects.filter(team_id=team_pk, uploaded_by__isnull=False)
    return [StoredFiles(rows=rows, size="file_size")]


def team_reference_files(*, team_pk: int) -> list[StoredFiles]:
    """The reference files the team's members uploaded as a task's owners and have not
    removed (the team's share of the storage quota); an organizer's upload and the built-in
    references are nobody's."""
    rows = Reference.objects.filter(team_id=team_pk, source=ReferenceSource.UPLOAD)
    return [StoredFiles(rows=rows, size="file_size")]
