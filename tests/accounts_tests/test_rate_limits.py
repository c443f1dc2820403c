"""Every way to sign in or to ask for a mail shares the per-address login budget (20/min).

Issue 15 found ``/admin/login/`` accepting 40 wrong passwords in a row; it now has the same
limiter as the site's login form and the API token endpoint.
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.challenges_tests.factories import UserFactory

pytestmark = pytest.mark.django_db
BUDGET = 20  # REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"]


def test_the_admin_login_is_limited_even_for_the_right_password_afterwards():
    UserFactory(username="boss", is_staff=True, is_superuser=True)
    client = Client()
    codes = [
        client.post("/admin/login/", {"username": "boss", "password": f"guess-{i}"}).status_code
        for i in range(BUDGET + 5)
    ]
    assert codes[:BUDGET] == [200] * BUDGET and set(codes[BUDGET:]) == {429}
    refused = client.post("/admin/login/", {"username": "boss", "password": "pw-for-tests"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert (
        other.post("/admin/login/", {"username": "boss", "password": "pw-for-tests"}).status_code
        == 302
    )


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/accounts/login/", {"username": "x", "password": "y"}),
        ("/admin/login/", {"username": "x", "password": "y"}),
        ("/api/v1/auth/token/", {"username": "x", "password": "y"}),
        (
            "/accounts/signup/",
            {"username": "x", "email": "bad", "password1": "a", "password2": "b"},
        ),
        ("/accounts/password/reset/", {"email": "nobody@example.org"}),
        ("/accounts/confirm-email/MQ:forged/", {}),
        ("/accounts/oidc/org/login/", {}),  # the identity provider's sign-in button
    ],
)
def test_every_login_and_mail_form_shares_one_budget(path, data):
    client = Client()
    spent = 0
    # Spend the budget on the three login forms, in turn.
    for i in range(BUDGET):
        form = ("/accounts/login/", "/admin/login/", "/api/v1/auth/token/")[i % 3]
        assert client.post(form, {"username": "x", "password": "y"}).status_code in (200, 400)
        spent += 1
    assert spent == BUDGET
    assert client.post(path, data).status_code == 429
