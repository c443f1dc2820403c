"""Fixtures of the account tests: a real OpenID Connect provider and a real SMTP server."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from django.core.cache import cache

from tests.support.browser import browser, browser_page  # noqa: F401 - fixtures
from tests.support.oidc_provider import OidcProvider
from tests.support.smtp_server import SmtpServer

from .oidc_helpers import CLIENT_ID, oidc  # noqa: F401 - oidc: a fixture of several modules


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()  # the login throttle never carries over


@pytest.fixture
def idp() -> Iterator[OidcProvider]:
    with OidcProvider(client_id=CLIENT_ID, client_secret=secrets.token_urlsafe(16)) as provider:
        yield provider


@pytest.fixture
def smtp(settings) -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; the platform sends through it."""
    with SmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        yield server
