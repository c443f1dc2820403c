"""Fixtures of the discussion's tests: a challenge with a task, two teams, an organizer, API
clients for each, a real SMTP server, a local webhook receiver and the broker's queue."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from testkit.webhook_receiver import webhook_receiver  # noqa: F401 - fixture
from tests.discussion_tests.discussion_helpers import World, make_world
from tests.support.notifications import broker, smtp_settings  # noqa: F401 - fixtures
from tests.support.smtp import smtp_server  # noqa: F401 - fixture


@pytest.fixture
def world(db) -> World:
    return make_world()


@pytest.fixture
def api(world):
    """``api(role)``: an API client logged in as ``ann``, ``ann2`` (her teammate), ``bo`` (another
    team), ``org`` (an organizer), or anonymous (``None``)."""

    def client(role: str | None) -> APIClient:
        made = APIClient()
        if role is not None:
            made.force_authenticate(world.users[role])
        return made

    return client
