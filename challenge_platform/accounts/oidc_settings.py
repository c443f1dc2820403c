"""The allauth setting for the organization's identity provider, from plain values.

Pure (no Django import): ``settings/base.py`` calls it with the ``OIDC_*`` environment
variables, and the tests with the address of the provider they start.
"""

from __future__ import annotations

from typing import Any

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
