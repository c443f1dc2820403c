"""Fixtures of the leaderboard tests: a real Chromium for the charts (tests.support.browser),
and a board cache on the session's real Redis with a challenge, track, task and two teams."""

import pytest

from tests.challenges_tests.factories import ChallengeFactory, TrackFactory
from tests.support.browser import browser, browser_page  # noqa: F401 - fixtures

from .blind_phase_world import blind_world  # noqa: F401 - the blind-phase modules' world
from .boards import refresh
from .champion_api_helpers import _gated_pk  # noqa: F401 - a fixture of several modules
from .factories import make_task, make_team, scored


@pytest.fixture
def redis_cache(settings, redis_server, redis_client):
    redis_client.flushall()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server.url,
            "KEY_PREFIX": "boards-test",
        }
    }
    settings.BOARD_CACHE = True
    # Every read sees the newest version; the grace for anonymous readers has its own tests.
    settings.BOARD_CACHE_GRACE_SECONDS = 0
    return redis_client


@pytest.fixture
def setup(redis_cache):
    challenge = ChallengeFactory(slug="c")
    track = TrackFactory(challenge=challenge, slug="trk")
    task = make_task(track, slug="t1")
    teams = {n: make_team(challenge, n) for n in ("ann", "bo")}
    return challenge, track, task, teams


@pytest.fixture
def board(setup, django_capture_on_commit_callbacks):
    """``setup`` with a scored entry on the task's board (ann, 0.61), refreshed."""
    challenge, track, task, teams = setup
    scored(task, teams["ann"], 0.61)
    refresh(task, django_capture_on_commit_callbacks)
    return setup
