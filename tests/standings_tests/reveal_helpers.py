"""Helpers of test_reveal.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from challenges.models import Challenge
from leaderboard.refresh import task_leaderboard_refresh
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory
from tests.leaderboard_tests.factories import make_task, make_team, scored

# Public and private scores that cannot be mistaken for one another in a page or a JSON text:
# the public board ranks Dogs > Cats > Bees > Owls, the private one the other way round.
PUBLIC = {"Owls": 0.911111, "Bees": 0.922222, "Cats": 0.933333, "Dogs": 0.944444}


PRIVATE = {"Owls": 0.677777, "Bees": 0.566666, "Cats": 0.455555, "Dogs": 0.344444}


PRIVATE_TEXTS = ["0.677", "0.566", "0.455", "0.344", "0.6778", "0.5667", "0.4556", "0.3444"]


def build_world() -> Challenge:
    now = timezone.now()
    challenge = ChallengeFactory(
        slug="sealed",
        title="Sealed",
        start=now - timedelta(days=9),
        end=now - timedelta(hours=1),
    )
    track = TrackFactory(challenge=challenge, slug="kway", title="K-way", prize="A trip")
    tasks = [make_task(track, slug="k1"), make_task(track, slug="k2")]
    teams = {name: make_team(challenge, name) for name in PUBLIC}
    for task in tasks:
        for minutes, (name, team) in enumerate(teams.items()):
            scored(task, team, PUBLIC[name], PRIVATE[name], minutes=minutes)
        task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    return challenge


