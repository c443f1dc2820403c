"""Writes for the challenge domain: teams, memberships, API tokens (STYLE: services)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from . import hooks
from .audit import audit_record, reason_check
from .models import Challenge, Team, TeamMembership
from .rules import rules_gate


class TeamError(Exception):
    """A refused team operation, with a message for the participant."""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _require_open_for_teams(challenge: Challenge) -> None:
    if timezone.now() >= challenge.end:
        raise TeamError(f"{challenge.title} has ended; teams can no longer change.", code="closed")


def _require_no_team(challenge: Challenge, user: AbstractBaseUser) -> None:
    existing = Team.objects.filter(challenge=challenge, memberships__user=user).first()
    if existing is not None:
        raise TeamError(
            f"You are already in team “{existing.name}” in {challenge.title}; "
            "leave it first (one team per person per challenge).",
            code="already_in_team",
        )


@transaction.atomic
def team_create(*, challenge: Challenge, user: AbstractBaseUser, name: str) -> Team:
    name = (name or "").strip()
    if not name:
        raise TeamError("A team needs a name.", code="name_required")
    if len(name) > 80:
        raise TeamError("Team names are at most 80 characters.", code="name_too_long")
    _require_open_for_teams(challenge)
    rules_gate(challenge=challenge, user=user)
    _require_no_team(challenge, user)
    if Team.objects.filter(challenge=challenge, name__iexact=name).exists():
        raise TeamError(f"The name “{name}” is taken in this challenge.", code="name_taken")
    try:
        with transaction.atomic():
            team = Team.objects.create(challenge=challenge, name=name)
            TeamMembership.objects.create(team=team, user=user, challenge=challenge)
    except IntegrityError as exc:  # a concurrent request won the race
        raise TeamError(
            "You already have a team in this challenge, or the name was just taken.",
            code="conflict",
        ) from exc
    return team


@transaction.atomic
def team_member_add(*, user: AbstractBaseUser, code: str) -> Team:
    """Join the team whose invite code is ``code``."""
    team = (
        Team.objects.select_for_update()
        .select_related("challenge")
        .filter(invite_code=(code or "").strip(), is_baseline=False)
        .first()
    )
    if team is None:
        raise TeamError(
            "That invite code doesn't match any team. Check it with your team.", code="bad_code"
        )
    challenge = team.challenge
    _require_open_for_teams(challenge)
    rules_gate(challenge=challenge, user=user)
    if team.memberships.filter(user=user).exists():
        return team
    _require_no_team(challenge, user)
    if team.memberships.count() >= challenge.max_team_size:
        raise TeamError(
            f"Team “{team.name}” is full ({challenge.max_team_size} members).", code="team_full"
        )
    try:
        with transaction.atomic():
            TeamMembership.objects.create(team=team, user=user, challenge=challenge)
    except IntegrityError as exc:
        raise TeamError("You already have a team in this challenge.", code="conflict") from exc
    return team


@transaction.atomic
def team_member_remove(*, user: AbstractBaseUser, team: Team) -> None:
    """Leave a team before the deadline. An empty team without submissions disappears."""
    _require_open_for_teams(team.challenge)
    deleted, _ = TeamMembership.objects.filter(team=team, user=user).delete()
    if not deleted:
        raise TeamError("You are not a member of this team.", code="not_member")
    if not team.memberships.exists() and not team.submissions.exists():
        team.delete()


def token_get_or_create(*, user: AbstractBaseUser) -> Token:
    token, _ = Token.objects.get_or_create(user=user)
    return token


def token_rotate(*, user: AbstractBaseUser) -> Token:
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


def challenge_reveal(
    *, challenge: Challenge, revealed: bool = True, actor: Any = None, reason: str = ""
) -> None:
    """Show (or hide again) the private leaderboards of a challenge to everyone."""
    before = challenge.private_revealed
    with transaction.atomic():
        Challenge.objects.filter(pk=challenge.pk).update(private_revealed=revealed)
        challenge.private_revealed = revealed
        audit_record(
            actor=actor,
            action="challenge.reveal" if revealed else "challenge.unreveal",
            obj=challenge,
            before={"private_revealed": before},
            after={"private_revealed": revealed},
            reason=reason,
        )


def team_visibility_set(*, team: Team, hidden: bool, actor: Any = None, reason: str = "") -> None:
    """Hide or disqualify a team: it leaves every leaderboard but stays in the records.
    A person hiding a team must give a reason (:class:`audit.ReasonRequired`)."""
    action = "team.hide" if hidden else "team.restore"
    reason_check(action=action, reason=reason, actor=actor)
    if team.is_hidden == hidden:
        return
    with transaction.atomic():
        Team.objects.filter(pk=team.pk).update(is_hidden=hidden)
        team.is_hidden = hidden
        audit_record(
            actor=actor,
            action=action,
            obj=team,
            before={"is_hidden": not hidden},
            after={"is_hidden": hidden},
            reason=reason,
        )
    hooks.challenge_teams_changed(challenge_id=team.challenge_id)
