"""Fixtures of the discussion's tests: a challenge with a task, two teams, an organizer, API
clients for each, a real SMTP server, a local webhook receiver and the broker's queue."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from testkit.webhook_receiver import webhook_receiver  # noqa: F401 - fixture
from tests.discussion_tests.discussion_helpers import World, make_world
from tests.support.broker import priority_lists, queued_messages, task_of
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


@pytest.fixture
def smtp_settings(settings, smtp_server):  # noqa: F811 - the fixture above
    host, port, inbox = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = host
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.SITE_URL = "http://testserver"
    return inbox


@pytest.fixture
def broker(redis_server, redis_client):
    """The session's Redis, emptied; ``broker.take()`` removes and decodes the queue's
    messages, as a worker consuming them would."""
    redis_client.flushall()

    class Broker:
        def take(self, queue: str = "notifications") -> list[tuple[str, dict]]:
            out = []
            for message in queued_messages(redis_client, queue):
                name, kwargs, _priority = task_of(message)
                out.append((name, kwargs))
            redis_client.delete(*priority_lists(queue))
            return out

    return Broker()
