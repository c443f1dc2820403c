"""A real Chromium for page tests (docs/architecture.md, House style: pages through a
real browser), via Playwright.

Use the ``browser_page`` fixture (register it in an app's ``conftest.py`` with
``from tests.support.browser import browser, browser_page  # noqa: F401``) with pytest-django's
``live_server``::

    @pytest.mark.browser
    def test_page(live_server, browser_page):
        browser_page.goto(live_server.url + "/")

Debian's ``/usr/bin/chromium`` is used, launched by :mod:`tests.support.chromium` (the
screenshot scripts' launch too); it is never downloaded. Without it the tests are skipped
with the reason. ``login(page, live_server_url, username, password)`` logs in
through the login form.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.chromium import CHROMIUM, launch, login  # noqa: F401 - login: the tests'

# Playwright's sync API runs an event loop in this thread, and Django refuses ORM calls from
# a thread with a running loop; the tests' ORM calls are synchronous, so allow them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

TIMEOUT_MS = 15_000


# Each app's conftest imports ``browser``, so pytest sees one session fixture per folder; a
# second ``sync_playwright()`` in the same thread fails ("Sync API inside the asyncio loop").
# They all share the first one's Chromium.
_running: list[object] = []


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the session."""
    if _running:
        yield _running[0]
        return
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed; browser tests need Debian's chromium package")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a dev dependency
        pytest.skip(f"playwright is not installed: {exc}")
    with sync_playwright() as playwright:
        instance = launch(playwright)
        _running.append(instance)
        try:
            yield instance
        finally:
            _running.clear()
            instance.close()


@pytest.fixture
def browser_page(browser) -> Iterator[object]:
    """A fresh page in its own context (no cookies shared between tests)."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
