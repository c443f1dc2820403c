"""Reads of the algorithms app: which algorithms and runs a user may see."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from algorithms.models import Algorithm, AlgorithmRun
from challenge_platform.selectors import is_organizer

User = AbstractBaseUser | AnonymousUser


def algorithm_list(*, user: User, challenge_slug: str | None = None) -> QuerySet[Algorithm]:
    """The algorithms ``user`` may see: their teams' ones; organizers all."""
    algorithms = Algorithm.objects.select_related("challenge", "team").order_by(
        "challenge__slug", "team__name", "name"
    )
    if not user.is_authenticated:
        return algorithms.none()
    if not is_organizer(user):
        algorithms = algorithms.filter(team__memberships__user=user)
    if challenge_slug:
        algorithms = algorithms.filter(challenge__slug=challenge_slug)
    return algorithms


def algorithm_get(*, user: User, algorithm_pk: int) -> Algorithm | None:
    """One algorithm if ``user`` may see it, else None (someone else's looks missing)."""
    return algorithm_list(user=user).filter(pk=algorithm_pk).first()


def algorithm_run_list(*, user: User, algorithm: Algorithm | None = None) -> QuerySet[AlgorithmRun]:
    runs = AlgorithmRun.objects.select_related(
        "version__algorithm__team", "task__track", "submission", "started_by"
    ).order_by("-created_at", "-id")
    if not user.is_authenticated:
        return runs.none()
    if not is_organizer(user):
        runs = runs.filter(version__algorithm__team__memberships__user=user)
    if algorithm is not None:
        runs = runs.filter(version__algorithm=algorithm)
    return runs


def algorithm_run_get(*, user: User, run_pk: int) -> AlgorithmRun | None:
    return algorithm_run_list(user=user).filter(pk=run_pk).first()


def latest_version_number(algorithm: Algorithm) -> int | None:
    version = algorithm.versions.order_by("-number").only("number").first()
    return version.number if version else None
