"""Fixtures: a real SMTP server, a local webhook receiver, and reading the broker's queue."""

from __future__ import annotations

import pytest

from testkit.webhook_receiver import webhook_receiver  # noqa: F401 - fixture
from tests.support.broker import priority_lists, queued_messages, task_of
from tests.support.smtp import smtp_server  # noqa: F401 - fixture


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
    """The session's Redis, emptied; ``broker.queued()`` decodes what waits on a queue."""
    redis_client.flushall()

    class Broker:
        def queued(self, queue: str = "notifications") -> list[tuple[str, dict]]:
            out = []
            for message in queued_messages(redis_client, queue):
                name, kwargs, _priority = task_of(message)
                out.append((name, kwargs))
            return out

        def take(self, queue: str = "notifications") -> list[tuple[str, dict]]:
            """Like ``queued`` but removes them (as a worker consuming them would)."""
            out = self.queued(queue)
            redis_client.delete(*priority_lists(queue))
            return out

    return Broker()
