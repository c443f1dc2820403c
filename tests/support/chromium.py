"""Debian's Chromium through Playwright: the one launch of a browser for the page tests
(:mod:`tests.support.browser`) and the screenshot scripts (``docs/screenshots/``).

``/usr/bin/chromium`` (``CHROMIUM_PATH`` overrides it) is used; a browser is never
downloaded. No pytest here: the screenshot scripts import it outside a test run.
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
