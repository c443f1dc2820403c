"""Reads for the challenge domain (STYLE: selectors)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import Challenge, Team


def challenge_list() -> QuerySet[Challenge]:
    return Challenge.objects.prefetch_related("tracks").order_by("-start")


def team_for_user(*, challenge: Challenge, user: AbstractBaseUser) -> Team | None:
    if not user.is_authenticated:
        return None
    return Team.objects.filter(challenge=challenge, memberships__user=user).first()


def user_is_member(*, team: Team, user: AbstractBaseUser) -> bool:
    return user.is_authenticated and team.memberships.filter(user=user).exists()


def is_organizer(user: AbstractBaseUser) -> bool:
    return bool(user.is_authenticated and user.is_staff)
