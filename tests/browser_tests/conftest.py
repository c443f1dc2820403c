"""Acceptance tests in a real Chromium (issues 5 and 7) against pytest-django's live server.

Every test here runs with ``transactional_db``: the live server's thread (and, for the
upload test, a real Celery worker process) must see what the test wrote. The session's
Redis is emptied before each test, so no message of an earlier test reaches a worker, and
the cache is cleared, so the login throttle never carries over.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from tests.support.browser import TIMEOUT_MS, browser, browser_page  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def _fresh_broker_and_cache(redis_server, redis_client, transactional_db) -> None:
    redis_client.flushall()
    cache.clear()


@pytest.fixture
def new_page(browser) -> Iterator:  # noqa: F811 - the session's browser fixture
    """Open more pages, each in its own context (own cookies); all closed afterwards."""
    contexts = []

    def make(**options):
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
