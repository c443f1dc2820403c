"""Fixtures of the leaderboard tests: a real Chromium for the charts (tests.support.browser)."""

from tests.support.browser import browser, browser_page  # noqa: F401 - fixtures
