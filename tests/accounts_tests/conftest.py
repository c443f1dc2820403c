"""Fixtures of the account tests: a real OpenID Connect provider and a real SMTP server."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from django.core.cache import cache

from challenges.accounts.oidc_settings import (
    form_action_sources,
    openid_connect_providers,
)
from tests.support.browser import browser, browser_page  # noqa: F401 - fixtures
from tests.support.oidc_provider import OidcProvider
from tests.support.smtp_server import SmtpServer

CLIENT_ID = "challenge-platform-tests"
ALLOWED = ["example.org"]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()  # the login throttle never carries over


def configure_oidc(settings, provider: OidcProvider, *, base_url: str) -> None:
    """Point the platform at ``provider`` exactly as the OIDC_* variables would."""
    provider.client.redirect_uris = [f"{base_url}/accounts/oidc/org/login/callback/"]
    settings.OIDC_ENABLED = True
    settings.OIDC_ALLOWED_EMAIL_DOMAINS = ALLOWED
    settings.OIDC_BUTTON_LABEL = "Sign in with Example Org"
    settings.CONTENT_SECURITY_POLICY = {
        **settings.CONTENT_SECURITY_POLICY,
        "form-action": form_action_sources(issuer=provider.issuer),
    }
    settings.SOCIALACCOUNT_PROVIDERS = openid_connect_providers(
        issuer=provider.issuer,
        client_id=CLIENT_ID,
        secret=provider.client.client_secret,
        label=settings.OIDC_BUTTON_LABEL,
    )


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


# Last: the helpers module imports configure_oidc from here.
from .oidc_helpers import oidc  # noqa: E402, F401 - a fixture of several modules
