"""Fixtures of the baseline tests: tiny imported tasks, a flushed broker, an organizer (the runs'
helpers: tests/support/baseline_runs.py).

The baseline is an algorithm run of the baseline profile (``algorithms.services.profiles``);
these tests are that profile's: its queueing, console, command and real runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from tests.scoring_tests.factories import ChallengeFactory, imported_task
from tests.support.browser import browser, browser_page  # noqa: F401


@pytest.fixture
def challenge():
    return ChallengeFactory()


@pytest.fixture
def classification_task(tmp_path: Path, challenge):
    """60 train rows: text, numeric, categorical (the colour gives the class away)."""
    return imported_task(tmp_path, kind="classification", challenge=challenge, rows=60)


@pytest.fixture
def matching_task(tmp_path: Path, challenge):
    """60 candidate pairs with name, price, brand and an image per side."""
    return imported_task(tmp_path, kind="matching", challenge=challenge, rows=60, images=True)


@pytest.fixture
def baseline_broker(redis_server, redis_client):
    """The session's Redis, flushed, so no earlier test's message reaches this test's worker."""
    redis_client.flushall()
    return redis_client


@pytest.fixture
def organizer(db):
    return get_user_model().objects.create_superuser("org", "org@example.com", "pw-for-tests")
