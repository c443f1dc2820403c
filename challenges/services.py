"""Writes for the challenge domain: teams, memberships, API tokens (docs/architecture.md,
House style: services)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q

from . import hooks
from .audit import audit_record, hidden_set
from .models import Challenge, Team, TeamMembership
from .rules import rules_gate
from .selectors import teams_closed
from .team_names import (
    control_or_separator_characters,
    invisible_characters,
    name_keys,
    scripts_mixed,
    team_name_imitates,
    team_name_key,
)


class TeamError(Exception):
    """A refused team operation, with a message for the participant."""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _require_open_for_teams(challenge: Challenge) -> None:
    closed = teams_closed(challenge=challenge)
    if closed:
        raise TeamError(closed, code="closed")


def _require_free_to_enter(challenge: Challenge, user: AbstractBaseUser) -> None:
    """One entry per person per challenge (docs/decisions/0021-one-entry-per-person.md, "Team
    hopping"): not already in a team, and no submission of theirs in another team of the challenge
    (a person who submitted stays that team's, and a disqualification follows its members)."""
    existing = Team.objects.filter(challenge=challenge, memberships__user=user).first()
    if existing is not None:
        raise TeamError(
            f"You are already in team “{existing.name}” in {challenge.title}; "
            "leave it first (one team per person per challenge).",
            code="already_in_team",
        )
    entered = (
        Team.objects.filter(challenge=challenge, submissions__uploaded_by=user)
        .order_by("-is_hidden", "pk")
        .first()
    )
    if entered is not None and entered.is_hidden:
        raise TeamError(
            f"Your team “{entered.name}” was disqualified in {challenge.title}, so you cannot "
            "create or join another team there; contact the organizers.",
            code="disqualified",
        )
    if entered is not None:
        raise TeamError(
            f"You already submitted in {challenge.title} with team “{entered.name}”; a person "
            "enters a challenge once, so you cannot create or join another team there.",
            code="already_entered",
        )


def _require_name(name: str) -> None:
    """Refuse a name with nothing to read: empty or only invisible characters (no name), or
    only punctuation (the comparison folds it away, so it would read as no name)."""
    if team_name_key(name=name):
        return
    if invisible_characters(name=name) or not name.strip():
        raise TeamError("A team needs a name.", code="name_required")
    raise TeamError("A team name needs a letter or a digit.", code="name_invalid")


def _refuse_unsafe_characters(raw: str) -> None:
    """Refuse a new name holding a control or separator character other than the plain
    space (a tab, a no-break space), or letters of scripts mixed beyond UTS #39's
    "Moderately Restrictive" level (``challenges.team_names``, issue 66). Read on the name
    as sent, before its whitespace is folded."""
    hidden = control_or_separator_characters(name=raw)
    if hidden:
        raise TeamError(
            "Team names may not contain control characters or spaces other than the plain "
            "one: " + ", ".join(hidden) + ".",
            code="name_invalid",
        )
    mixed = scripts_mixed(name=raw)
    if mixed:
        raise TeamError(
            "Team names may not mix " + " and ".join(mixed) + " letters (one script, or Latin "
            "with one other script that is not Cyrillic or Greek).",
            code="name_invalid",
        )


def team_name_check(
    *, challenge: Challenge, name: str, exclude_pk: int | None = None, organizer: bool = False
) -> str:
    """``name`` cleaned (whitespace runs as one space) if a team may take it in
    ``challenge``; else :class:`TeamError`: empty, too long, imitating the organizers'
    entries (unless an ``organizer`` names it), reading as an existing team's name (named),
    or holding invisible characters. The one check of every way a team gets a name (the
    service below, the console). A team's own name, unchanged, is not refused by rules newer
    than it (``check_lookalike_names`` lists those)."""
    raw = name or ""
    name = " ".join(raw.split())
    _require_name(name)
    if len(name) > 80:
        raise TeamError("Team names are at most 80 characters.", code="name_too_long")
    reserved = None if organizer else team_name_imitates(name=name)
    if reserved is not None:
        raise TeamError(
            f"Team names may not look like “{reserved}”: that word is kept for the organizers' "
            "baseline and reference entries. Choose another name.",
            code="name_reserved",
        )
    keys = name_keys(name=name)  # either reading of the name (challenges.team_names)
    same = (
        Team.objects.filter(challenge=challenge)
        .filter(Q(name_key__in=keys) | Q(name_glyph_key__in=keys))
        .exclude(pk=exclude_pk)
        .order_by("created_at", "pk")
        .first()
    )
    if same is not None:
        raise TeamError(
            f"The name “{name}” is taken in this challenge: it reads the same as team "
            f"“{same.name}” (names are compared as they look: ignoring case, width, spaces, "
            "accents and other marks, punctuation and dashes, invisible characters and "
            "look-alike letters such as a Cyrillic a or a capital I for l).",
            code="name_taken",
        )
    if exclude_pk is None or not Team.objects.filter(pk=exclude_pk, name=name).exists():
        _refuse_unsafe_characters(raw)
    hidden = invisible_characters(name=name)
    if hidden:
        raise TeamError(
            "Team names may not contain characters that show as nothing: "
            + ", ".join(hidden)
            + ".",
            code="name_invalid",
        )
    return name


@transaction.atomic
def team_create(*, challenge: Challenge, user: AbstractBaseUser, name: str) -> Team:
    raw = name or ""
    name = " ".join(raw.split())
    _require_name(name)
    # After the end a newcomer may still create a team: the challenge is the post-challenge
    # benchmark then (its submissions and runs go to the post-challenge boards, never into the
    # frozen standings). Joining and leaving an existing team stay closed.
    rules_gate(challenge=challenge, user=user)
    _require_free_to_enter(challenge, user)
    name = team_name_check(challenge=challenge, name=raw)  # as sent: a tab is refused
    try:
        with transaction.atomic():
            team = Team.objects.create(challenge=challenge, name=name)
            team_membership_create(team=team, user=user)
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
    _require_free_to_enter(challenge, user)
    if team.memberships.count() >= challenge.max_team_size:
        raise TeamError(
            f"Team “{team.name}” is full ({challenge.max_team_size} members).", code="team_full"
        )
    try:
        with transaction.atomic():
            team_membership_create(team=team, user=user)
    except IntegrityError as exc:
        raise TeamError("You already have a team in this challenge.", code="conflict") from exc
    return team


def team_membership_create(*, team: Team, user: AbstractBaseUser) -> TeamMembership:
    """Make ``user`` a member of ``team`` and tell the layers above
    (:class:`hooks.TeamMemberJoined`: the team's other members are mailed). The one place a
    membership is created: team creation, the invite code and the organizers' console.
    The caller checks the rules; the database refuses a second team in one challenge
    (``IntegrityError``)."""
    membership = TeamMembership.objects.create(team=team, user=user, challenge_id=team.challenge_id)
    hooks.emit(event=hooks.TeamMemberJoined(membership_id=membership.pk))
    return membership


@transaction.atomic
def team_member_remove(*, user: AbstractBaseUser, team: Team) -> None:
    """Leave a team before the deadline. An empty team without submissions disappears.

    A team that has submitted keeps its members, and a disqualified team too
    (docs/decisions/0021-one-entry-per-person.md, "Team hopping"): leaving would let a person enter
    twice or shed a disqualification. The team's row lock (the one uploads take) orders a leave
    against a concurrent first upload.
    """
    _require_open_for_teams(team.challenge)
    team = Team.objects.select_for_update().get(pk=team.pk)
    if not team.memberships.filter(user=user).exists():
        raise TeamError("You are not a member of this team.", code="not_member")
    if team.is_hidden:
        raise TeamError(
            f"Team “{team.name}” was disqualified or hidden by the organizers; its members "
            "cannot leave it. Contact the organizers.",
            code="disqualified",
        )
    if team.submissions.exists():
        raise TeamError(
            f"Team “{team.name}” has submitted, so its members are fixed: a person enters a "
            "challenge once. Contact the organizers if you need to change teams.",
            code="team_locked",
        )
    TeamMembership.objects.filter(team=team, user=user).delete()
    if not team.memberships.exists() and not team.submissions.exists():
        team.delete()


def challenge_reveal(
    *, challenge: Challenge, revealed: bool = True, actor: Any = None, reason: str = ""
) -> None:
    """Show (or hide again) the private leaderboards of a challenge to everyone."""
    before = challenge.private_revealed
    with transaction.atomic():
        Challenge.objects.filter(pk=challenge.pk).update(private_revealed=revealed)
        challenge.private_revealed = revealed
        hooks.emit(event=hooks.ChallengeRevealChanged(challenge_id=challenge.pk))
        if challenge.phases.filter(feedback="blind").exists():  # its board opens at once
            hooks.emit(event=hooks.ChallengePhasesChanged(challenge_id=challenge.pk))
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
    if hidden_set(obj=team, hidden=hidden, actor=actor, reason=reason, noun="team"):
        hooks.emit(event=hooks.ChallengeTeamsChanged(challenge_id=team.challenge_id))
