"""Final selection and visibility: which scored submissions the boards rank."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from challenges import hooks
from challenges.audit import hidden_set
from challenges.models import Team, TeamMembership
from challenges.phases import is_multi_phase, phase_final
from scoring.models import Submission, SubmissionStatus
from scoring.services.upload import SubmissionRefused

logger = logging.getLogger(__name__)


def submission_final_set(
    *, submission: Submission, user: AbstractBaseUser | AnonymousUser, final: bool
) -> Submission:
    """Mark (or unmark) one of the team's scored submissions as final for the private board.

    Only the team's members may, and only before the challenge ends; a team keeps at most
    ``challenge.max_final_selections`` finals per task (raises :class:`SubmissionRefused`
    with a plain message otherwise). The task's leaderboard is refreshed afterwards: the
    private board ranks each team's finals (or its best public ones when it chose none).
    """
    if not user.is_authenticated:
        raise SubmissionRefused("not_authenticated", "Log in to choose final submissions.", 401)
    task = submission.task
    challenge = task.track.challenge
    if not TeamMembership.objects.filter(team_id=submission.team_id, user_id=user.pk).exists():
        raise SubmissionRefused(
            "not_member", "Only the team's members can choose its final submissions.", 403
        )
    if timezone.now() >= challenge.end:
        raise SubmissionRefused(
            "closed",
            f"The challenge closed on {challenge.end:%Y-%m-%d %H:%M} UTC; final selections "
            "can no longer change.",
            403,
        )
    with transaction.atomic():
        # One team's toggles run one at a time, so two can never both take the last slot.
        Team.objects.select_for_update().filter(pk=submission.team_id).values_list("pk").get()
        current = Submission.objects.get(pk=submission.pk)
        if current.is_final == final:
            submission.is_final = final
            return submission
        if final:
            _check_final_allowed(submission=current, limit=challenge.max_final_selections)
        Submission.objects.filter(pk=current.pk).update(is_final=final)
    submission.is_final = final
    logger.info(
        "submission %s %s final by %s", submission.pk, "marked" if final else "unmarked", user.pk
    )
    hooks.emit(event=hooks.TaskResultsChanged(task_id=task.pk))
    return submission


def _check_final_allowed(*, submission: Submission, limit: int) -> None:
    if submission.status != SubmissionStatus.SCORED or submission.public_score is None:
        raise SubmissionRefused(
            "not_scored",
            f"Submission #{submission.pk} is {submission.status}; only a scored submission "
            "can be final.",
        )
    if submission.is_hidden:
        raise SubmissionRefused(
            "hidden", f"Submission #{submission.pk} was hidden by the organizers.", 403
        )
    challenge = submission.task.track.challenge
    final_phase = phase_final(challenge=challenge) if is_multi_phase(challenge=challenge) else None
    if final_phase is not None and submission.phase_id != final_phase.pk:
        raise SubmissionRefused(
            "not_final_phase",
            f"Submission #{submission.pk} was not made in the final phase "
            f"(“{final_phase.title}”): the final entries are chosen among that phase's "
            "(docs/participants/phases.md).",
            409,
        )
    others = list(
        Submission.objects.filter(
            team_id=submission.team_id, task_id=submission.task_id, is_final=True
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )
    if len(others) >= limit:
        chosen = ", ".join(f"#{pk}" for pk in others)
        raise SubmissionRefused(
            "final_limit",
            f"Your team already has {limit} final submission{'s' if limit != 1 else ''} for "
            f"this task ({chosen}); unmark one before choosing another.",
            409,
        )


def submission_visibility_set(
    *, submission: Submission, hidden: bool, actor: Any = None, reason: str = ""
) -> None:
    """Hide (or disqualify) a submission: it leaves the leaderboards, stays in the records.
    A person hiding it must give a reason (:class:`challenges.audit.ReasonRequired`)."""
    if hidden_set(obj=submission, hidden=hidden, actor=actor, reason=reason, noun="submission"):
        hooks.emit(event=hooks.TaskResultsChanged(task_id=submission.task_id))
