"""The notifications tests' fixtures that the console's tests use too: the platform's mail
sent to the real SMTP server (``smtp_settings``), and the session's Redis emptied, reading
what waits on a queue (``broker``). Each folder's conftest imports them, beside
``tests.support.smtp``'s ``smtp_server``."""

from __future__ import annotations

import pytest

from tests.support.broker import priority_lists, queued_messages, task_of


@pytest.fixture
def smtp_settings(settings, smtp_server):
    """The platform's mail goes to the real SMTP server (``smtp_server``); its inbox."""
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
