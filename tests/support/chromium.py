"""Debian's Chromium through Playwright: the one launch of a browser, and the one login
through a form, for the page tests (:mod:`tests.support.browser`, which also take the
manual's pictures: :mod:`tests.support.screenshots`).

``/usr/bin/chromium`` (``CHROMIUM_PATH`` overrides it) is used; a browser is never
downloaded. No pytest here: it is plain Playwright, usable outside a test run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(playwright: Any) -> Any:
    """A headless :data:`CHROMIUM` from a started ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def login(
    page: Any, base_url: str, username: str, password: str, *, path: str = "/accounts/login/"
) -> None:
    """Log in through the login form at ``path`` (the site's; the console's is
    ``/admin/login/``)."""
    page.goto(f"{base_url}{path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    # The password form's own button: with OpenID Connect on, the first form on the page is
    # the identity provider's sign-in button.
    page.click("form:has(input[name=password]) [type=submit]")
    page.wait_for_load_state()
