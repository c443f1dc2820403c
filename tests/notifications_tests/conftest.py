"""Fixtures: a real SMTP server, a local webhook receiver, and reading the broker's queue (the
last two in tests/support/notifications.py, which the console's tests use too)."""

from __future__ import annotations

from testkit.webhook_receiver import webhook_receiver  # noqa: F401 - fixture
from tests.support.notifications import broker, smtp_settings  # noqa: F401 - fixtures
from tests.support.smtp import smtp_server  # noqa: F401 - fixture
