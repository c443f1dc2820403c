"""Helpers of test_oidc.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py), and the platform pointed at a test
provider (``configure_oidc``, which the fixtures of conftest.py call too)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client

from challenges.accounts.oidc_settings import form_action_sources, openid_connect_providers
from tests.support.oidc_provider import OidcProvider

User = get_user_model()

CLIENT_ID = "challenge-platform-tests"
ALLOWED = ["example.org"]


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


LOGIN = "/accounts/oidc/org/login/"


CALLBACK = "/accounts/oidc/org/login/callback/"


@pytest.fixture
def oidc(settings, idp):
    configure_oidc(settings, idp, base_url="http://testserver")
    return idp


def start(client: Client) -> str:
    """Press the sign-in button: the redirect to the provider's authorization endpoint."""
    response = client.post(LOGIN)
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def sign_in_at_provider(authorize_url: str, email: str) -> dict[str, str]:
    """Type ``email`` into the provider's form; the code and state it sends back."""
    page = requests.get(authorize_url, timeout=10)
    assert page.status_code == 200, page.text
    answer = requests.post(authorize_url, data={"email": email}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    return {key: values[0] for key, values in query.items()}


def logged_in_user(client: Client):
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None
