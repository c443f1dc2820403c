"""Local sign-up with e-mail verification and password reset, through a real SMTP server."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.challenges_tests.factories import UserFactory
from tests.support.smtp_server import links

pytestmark = pytest.mark.django_db
User = get_user_model()
PASSWORD = "Correct-Horse-7-battery"


def sign_up(client: Client, *, username: str = "newbie", email: str = "newbie@example.org"):
    return client.post(
        "/accounts/signup/",
        {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD},
    )


def confirmation_path(smtp, to: str, count: int = 1) -> str:
    message = smtp.wait_for(to=to, count=count)[-1]
    found = [link for link in links(message) if "/accounts/confirm-email/" in link]
    assert found, message
    return urlsplit(found[0]).path


def password_login(client: Client, username: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_sign_up_mails_a_link_and_nobody_logs_in_before_it_is_used(smtp):
    client = Client()
    response = sign_up(client)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(username="newbie")
    assert "_auth_user_id" not in client.session
    path = confirmation_path(smtp, "newbie@example.org")

    # Every password form refuses the unconfirmed account.
    assert password_login(Client(), "newbie").status_code == 200
    api = Client().post("/api/v1/auth/token/", {"username": "newbie", "password": PASSWORD})
    assert api.status_code == 400
    assert "_auth_user_id" not in Client().session

    page = client.get(path)
    assert page.status_code == 200 and b"newbie@example.org" in page.content
    confirmed = client.post(path)
    assert confirmed.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)  # logged in by the link
    other = Client()
    assert password_login(other, "newbie").status_code == 302
    assert other.session["_auth_user_id"] == str(user.pk)


def test_a_confirmation_link_works_once(smtp):
    client = Client()
    sign_up(client)
    path = confirmation_path(smtp, "newbie@example.org")
    assert client.post(path).status_code == 302
    replay = Client()
    page = replay.get(path)
    assert b"expired or is invalid" in page.content
    assert replay.post(path).status_code == 404
    assert "_auth_user_id" not in replay.session
    forged = Client().get(path[:-4] + "xxx/")
    assert b"expired or is invalid" in forged.content


def test_sign_up_refuses_addresses_outside_the_allowed_domains(settings, smtp):
    settings.SIGNUP_ALLOWED_EMAIL_DOMAINS = ["example.org"]
    for email in ("eve@evil.test", "eve@example.org.evil.test", "eve@sub.example.org"):
        response = sign_up(Client(), username="eve", email=email)
        assert response.status_code == 200
        assert "Sign-up is open to addresses at @example.org only." in response.content.decode()
    assert not User.objects.filter(username="eve").exists()
    assert smtp.messages == []
    assert sign_up(Client(), username="ok", email="ok@EXAMPLE.org").status_code == 302


def test_sign_up_can_be_switched_off(settings):
    settings.LOCAL_SIGNUP_ENABLED = False
    page = Client().get("/accounts/login/").content.decode()
    assert 'id="signup-link"' not in page
    closed = Client().get("/accounts/signup/")
    assert closed.status_code == 200 and b"Sign Up Closed" in closed.content
    sign_up(Client())
    assert not User.objects.filter(username="newbie").exists()


def test_password_reset_goes_through_the_mailed_link(smtp):
    user = UserFactory(username="forgetful", email="forgetful@example.org")
    asked = Client().post("/accounts/password/reset/", {"email": "forgetful@example.org"})
    assert asked.status_code == 302
    message = smtp.wait_for(to="forgetful@example.org")[0]
    link = next(x for x in links(message) if "/accounts/password/reset/key/" in x)
    client = Client()
    form = client.get(urlsplit(link).path, follow=True)
    assert form.status_code == 200
    new = "Another-Good-Pass-42"
    # allauth moves the key out of the address before showing the form (no Referer leak).
    form_path = form.redirect_chain[-1][0] if form.redirect_chain else urlsplit(link).path
    done = client.post(form_path, {"password1": new, "password2": new})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)
    # The link is spent.
    again = Client().get(urlsplit(link).path, follow=True)
    assert b"invalid" in again.content.lower()


def test_the_demo_and_console_accounts_still_log_in_with_username_and_password():
    UserFactory(username="alice")
    client = Client()
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw-for-tests"})
    assert response.status_code == 302 and "_auth_user_id" in client.session


@pytest.mark.parametrize("hostile", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_login_next_never_leaves_the_site(hostile):
    UserFactory(username="alice")
    response = Client().post(
        "/accounts/login/", {"username": "alice", "password": "pw-for-tests", "next": hostile}
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_sign_up_next_never_leaves_the_site(smtp):
    client = Client()
    response = client.post(
        "/accounts/signup/?next=https://evil.example/",
        {
            "username": "newbie",
            "email": "newbie@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "next": "https://evil.example/",
        },
    )
    confirmed = client.post(confirmation_path(smtp, "newbie@example.org"))
    for step in (response, confirmed):
        assert "evil.example" not in step.get("Location", "")
