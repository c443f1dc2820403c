"""Fixtures: a real SMTP server, a local webhook receiver, and reading the broker's queue."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.smtp import smtp_server  # noqa: F401 - fixture
from tests.support.webhook_receiver import webhook_receiver  # noqa: F401 - fixture


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
            for raw in redis_client.lrange(queue, 0, -1):
                message = json.loads(raw)
                body = json.loads(base64.b64decode(message["body"]))
                out.append((message["headers"]["task"], body[1]))
            return out

        def take(self, queue: str = "notifications") -> list[tuple[str, dict]]:
            """Like ``queued`` but removes them (as a worker consuming them would)."""
            out = self.queued(queue)
            redis_client.delete(queue)
            return out

    return Broker()
