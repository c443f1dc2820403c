"""The allauth setting for the organization's identity provider, from plain values.

Pure (no Django import): ``settings/base.py`` calls it with the ``OIDC_*`` environment
variables, and the tests with the address of the provider they start.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

PROVIDER_ID = "org"  # in the callback URL: /accounts/oidc/org/login/callback/


def openid_connect_providers(
    *, issuer: str | None, client_id: str | None, secret: str, label: str
) -> dict[str, Any]:
    """``SOCIALACCOUNT_PROVIDERS``: one OpenID Connect app, or none without an issuer."""
    apps = []
    if issuer and client_id:
        apps.append(
            {
                "provider_id": PROVIDER_ID,
                "name": label,
                "client_id": client_id,
                "secret": secret,
                # server_url: discovery at <issuer>/.well-known/openid-configuration.
                "settings": {"server_url": issuer, "oauth_pkce_enabled": True},
            }
        )
    return {"openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": apps}}


def form_action_sources(*, issuer: str | None) -> list[str]:
    """CSP ``form-action``: this site, plus the provider's origin when there is one.

    Browsers apply ``form-action`` to the redirects that follow a form submission, so the
    sign-in button's POST (answered by a redirect to the provider) needs the provider's
    origin, or Chromium silently stays on the login page.
    """
    sources = ["'self'"]
    if issuer:
        parts = urlsplit(issuer)
        sources.append(f"{parts.scheme}://{parts.netloc}")
    return sources
