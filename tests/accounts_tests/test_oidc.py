"""OpenID Connect sign-in against a real provider (tests/support/oidc_provider.py).

The platform's side is the Django test client; the provider is a real HTTP server that
allauth reaches for discovery, the token exchange (PKCE), the JWKS and userinfo. The person
at the provider's login form is played by ``requests``.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from .oidc_helpers import CALLBACK, LOGIN, User, logged_in_user, sign_in_at_provider, start

pytestmark = pytest.mark.django_db










def test_first_sign_in_creates_the_user_and_the_second_finds_it(oidc):
    client = Client()
    authorize = start(client)
    assert authorize.startswith(oidc.issuer + "/authorize?")
    params = parse_qs(urlsplit(authorize).query)
    assert params["code_challenge_method"] == ["S256"]  # PKCE
    grant = sign_in_at_provider(authorize, "Dana@Example.org")
    done = client.get(CALLBACK, grant)
    assert done.status_code == 302 and done["Location"] == "/"
    user = logged_in_user(client)
    assert user is not None and user.email.lower() == "dana@example.org"
    assert not user.has_usable_password()
    assert "code_verifier" in oidc.token_requests[-1]
    # The next sign-in finds the same account.
    again = Client()
    again.get(CALLBACK, sign_in_at_provider(start(again), "Dana@Example.org"))
    assert logged_in_user(again) == user
    assert User.objects.filter(email__iexact="dana@example.org").count() == 1


@pytest.mark.parametrize(
    "email", ["eve@evil.test", "eve@example.org.evil.test", "eve@notexample.org", "eve@"]
)
def test_an_address_outside_the_allowed_domains_is_refused_and_no_account_made(oidc, email):
    client = Client()
    grant = sign_in_at_provider(start(client), email)
    refused = client.get(CALLBACK, grant)
    assert refused.status_code == 403
    assert "accepts only addresses at @example.org" in refused.content.decode()
    assert logged_in_user(client) is None
    assert not User.objects.exclude(username__startswith="sec-").filter(email=email).exists()
    assert User.objects.count() == 0


def test_a_forged_state_is_refused(oidc):
    client = Client()
    grant = sign_in_at_provider(start(client), "frank@example.org")
    forged = client.get(CALLBACK, {**grant, "state": "forged-state"})
    assert forged.status_code in (200, 400, 401, 403)
    assert "Third-Party Login Failure" in forged.content.decode()
    assert logged_in_user(client) is None and User.objects.count() == 0


def test_a_code_and_state_from_another_browser_do_not_log_in_this_one(oidc):
    victim = Client()
    grant = sign_in_at_provider(start(victim), "grace@example.org")
    attacker = Client()  # no pending sign-in in its session (login CSRF)
    response = attacker.get(CALLBACK, grant)
    assert logged_in_user(attacker) is None
    assert User.objects.count() == 0, response.status_code


def test_a_used_code_cannot_be_replayed(oidc):
    first = Client()
    grant = sign_in_at_provider(start(first), "heidi@example.org")
    first.get(CALLBACK, grant)
    assert logged_in_user(first) is not None
    replay = Client()
    state = parse_qs(urlsplit(start(replay)).query)["state"][0]
    replay.get(CALLBACK, {"code": grant["code"], "state": state})
    assert logged_in_user(replay) is None


def test_an_id_token_for_another_client_is_refused(oidc):
    oidc.id_token_audience = "some-other-application"
    client = Client()
    client.get(CALLBACK, sign_in_at_provider(start(client), "ivan@example.org"))
    assert logged_in_user(client) is None and User.objects.count() == 0


def test_without_an_issuer_the_button_and_the_endpoints_are_absent(settings):
    page = Client().get("/accounts/login/").content.decode()
    assert 'id="oidc-login"' not in page
    assert Client().post(LOGIN).status_code == 404


def test_the_login_page_shows_the_configured_button(oidc):
    page = Client().get("/accounts/login/?next=/c/x/").content.decode()
    assert "Sign in with Example Org" in page and f'action="{LOGIN}"' in page


@pytest.mark.parametrize("hostile", ["https://evil.example/", "//evil.example/", "/c/ok/"])
def test_the_next_address_of_a_provider_sign_in_stays_on_the_site(oidc, hostile):
    client = Client()
    response = client.post(LOGIN, {"next": hostile})
    assert response.status_code == 302
    done = client.get(CALLBACK, sign_in_at_provider(response["Location"], "olga@example.org"))
    assert logged_in_user(client) is not None
    expected = hostile if hostile == "/c/ok/" else "/"
    assert done["Location"] == expected


def test_a_provider_sign_in_never_takes_over_a_local_account_with_the_same_address(oidc):
    from allauth.account.models import EmailAddress

    from tests.challenges_tests.factories import UserFactory

    victim = UserFactory(username="victim", email="victim@example.org")
    EmailAddress.objects.create(user=victim, email=victim.email, verified=True, primary=True)
    client = Client()
    response = client.get(CALLBACK, sign_in_at_provider(start(client), "victim@example.org"))
    assert logged_in_user(client) != victim
    assert not victim.socialaccount_set.exists()
    assert response.status_code in (200, 302)


def test_a_provider_account_gets_no_password_reset_mail(oidc, settings):
    client = Client()
    client.get(CALLBACK, sign_in_at_provider(start(client), "pat@example.org"))
    user = logged_in_user(client)
    assert user is not None
    from django.core import mail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    asked = Client().post("/accounts/password/reset/", {"email": "pat@example.org"})
    assert asked.status_code == 302  # the same answer as for any address
    assert mail.outbox == []
    user.refresh_from_db()
    assert not user.has_usable_password()
