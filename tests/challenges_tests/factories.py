"""Factories for the challenge domain."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from challenges.models import Challenge, Team, TeamMembership, Track

# Every UserFactory user's password (the browser and command-line tests sign in with it).
PASSWORD = "pw-for-tests"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(PASSWORD)  # hashed at build: no second save


class ChallengeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Challenge

    slug = factory.Sequence(lambda n: f"challenge-{n}")
    title = factory.Sequence(lambda n: f"Challenge {n}")
    start = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    end = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))


class TrackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Track

    challenge = factory.SubFactory(ChallengeFactory)
    slug = factory.Sequence(lambda n: f"track-{n}")
    title = factory.Sequence(lambda n: f"Track {n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    challenge = factory.SubFactory(ChallengeFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


def add_member(team: Team, user) -> TeamMembership:
    return TeamMembership.objects.create(team=team, user=user, challenge=team.challenge)


def api_key(user) -> str:
    """A new API token of ``user``: its key, readable only now (tokens are stored hashed)."""
    from challenges.tokens import api_token_create

    return api_token_create(user=user)[1]
