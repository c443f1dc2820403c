"""Accounts and rules in a real Chromium against the live server (issue 12's browser tests).

The identity provider (Authlib) and the SMTP server (aiosmtpd) are real servers on
127.0.0.1 started by the fixtures; nothing on the platform's side is mocked.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from challenges.models import RulesAcceptance, Team
from tests.accounts_tests.oidc_helpers import configure_oidc
from tests.challenges_tests.factories import ChallengeFactory
from tests.support.smtp_server import links

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
User = get_user_model()


@pytest.fixture
def oidc_live(settings, idp, live_server):
    configure_oidc(settings, idp, base_url=live_server.url)
    return idp


def test_oidc_sign_in_creates_the_user_on_first_sign_in(live_server, browser_page, oidc_live):
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.click("text=Sign in with Example Org")
    page.wait_for_url(f"{oidc_live.issuer}/authorize*")
    page.fill("#idp-email", "judy@example.org")
    page.fill("#idp-name", "Judy Hopps")
    page.click("#idp-submit")
    page.wait_for_url(f"{live_server.url}/")
    user = User.objects.get(email__iexact="judy@example.org")
    assert page.locator(".who").inner_text() == user.username
    assert "code_verifier" in oidc_live.token_requests[-1]


def test_oidc_sign_in_from_a_refused_domain_says_why(live_server, browser_page, oidc_live):
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.click("text=Sign in with Example Org")
    page.fill("#idp-email", "mallory@evil.test")
    page.click("#idp-submit")
    page.wait_for_selector("#refusal")
    text = page.locator("#refusal").inner_text()
    assert "mallory@evil.test" in text and "@example.org" in text
    assert page.locator(".who").count() == 0
    assert not User.objects.filter(email="mallory@evil.test").exists()


def test_local_sign_up_with_the_mailed_link_then_the_rules_gate(live_server, browser_page, smtp):
    challenge = ChallengeFactory(
        slug="gated", title="Gated challenge", rules="Be **kind**.", rules_version=2
    )
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.click("#signup-link")
    page.fill("input[name=email]", "kim@example.org")
    page.fill("input[name=username]", "kim")
    page.fill("input[name=password1]", "Kim-secure-pass-91")
    page.fill("input[name=password2]", "Kim-secure-pass-91")
    page.click("form [type=submit]")
    page.wait_for_url(f"{live_server.url}/accounts/confirm-email/")

    message = smtp.wait_for(to="kim@example.org")[0]
    link = next(x for x in links(message) if "/accounts/confirm-email/" in x)
    assert link.startswith(live_server.url)
    page.goto(link)
    page.click("form [type=submit]")  # Confirm
    page.wait_for_load_state()
    assert page.locator(".who").inner_text() == "kim"

    # The rules gate: creating a team leads to the rules, accepting leads back.
    page.goto(f"{live_server.url}/c/gated/")
    assert "Read and accept the" in page.locator("#rules-status").inner_text()
    page.fill("#team-name", "Kim's team")
    page.click("text=Create team")
    page.wait_for_url(re.compile(r".*/c/gated/rules/\?next=.*"))
    assert "kind" in page.locator("#rules-text strong").inner_text()
    assert not Team.objects.filter(challenge=challenge).exists()
    page.click("#rules-accept button")
    page.wait_for_url(f"{live_server.url}/c/gated/")
    assert RulesAcceptance.objects.filter(user__username="kim", version=2).exists()
    page.fill("#team-name", "Kim's team")
    page.click("text=Create team")
    page.wait_for_url(re.compile(r".*/teams/\d+/"))
    assert Team.objects.filter(challenge=challenge, name="Kim's team").exists()
