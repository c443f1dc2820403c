"""Reads for the challenge domain (docs/architecture.md, House style: selectors)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from .models import Challenge, Team, Track


def challenge_list() -> QuerySet[Challenge]:
    return Challenge.objects.prefetch_related("tracks").order_by("-start")


def challenge_task_kinds(*, challenges: Iterable[Challenge]) -> set[str]:
    """The kinds of the tasks of ``challenges`` (the home page names them)."""
    return set(
        Track.objects.filter(challenge__in=list(challenges), tasks__isnull=False)
        .values_list("tasks__kind", flat=True)
        .distinct()
    )


def team_for_user(*, challenge: Challenge, user: AbstractBaseUser) -> Team | None:
    if not user.is_authenticated:
        return None
    return Team.objects.filter(challenge=challenge, memberships__user=user).first()


def user_is_member(*, team: Team, user: AbstractBaseUser) -> bool:
    return user.is_authenticated and team.memberships.filter(user=user).exists()


def is_organizer(*, user: AbstractBaseUser) -> bool:
    return bool(user.is_authenticated and user.is_staff)


def teams_closed(*, challenge: Challenge, at: datetime | None = None) -> str | None:
    """Why teams can no longer change (be joined, invited to or left), or None while they
    can: from the challenge's end on. The one rule of the services and of the pages that
    offer those actions. (A newcomer may still create a team after the end: the
    post-challenge benchmark.)"""
    if (at or timezone.now()) >= challenge.end:
        return f"{challenge.title} has ended; teams can no longer change."
    return None


def challenge_phase(*, challenge: Challenge, at: datetime | None = None) -> str:
    """Where the challenge stands: ``"upcoming"``, ``"open"`` or ``"ended"`` (uploads then
    go to each task's post-challenge board, never into the standings)."""
    at = at or timezone.now()
    if at < challenge.start:
        return "upcoming"
    return "open" if at < challenge.end else "ended"
