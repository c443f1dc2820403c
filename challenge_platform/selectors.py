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


def health_status() -> dict:
    """Queue health for the organizer's panel: waiting work and the last worker heartbeat."""
    from django.db.models import Count, Min
    from django.utils import timezone

    from scoring.models import Submission

    from .models import WorkerHeartbeat

    counts = dict(
        Submission.objects.filter(status__in=["queued", "scoring"])
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    oldest = Submission.objects.filter(status__in=["queued", "scoring"]).aggregate(
        at=Min("created_at")
    )["at"]
    beat = (
        WorkerHeartbeat.objects.exclude(hostname__startswith="ping:").order_by("-seen_at").first()
    )
    now = timezone.now()
    return {
        "queued": counts.get("queued", 0),
        "scoring": counts.get("scoring", 0),
        "oldest_waiting_at": oldest,
        "oldest_waiting_seconds": (now - oldest).total_seconds() if oldest else None,
        "last_heartbeat_at": beat.seen_at if beat else None,
        "last_heartbeat_host": beat.hostname if beat else None,
        "heartbeat_age_seconds": (now - beat.seen_at).total_seconds() if beat else None,
        "workers_ok": bool(beat and (now - beat.seen_at).total_seconds() < 120),
    }
