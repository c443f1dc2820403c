"""Issue 39's account probe through the real web server (gunicorn as the Procfile starts it),
real HTTP and a real SMTP server: after each of the four account changes, a password reset
by the mailed link, a password an organizer sets anew, a password changed by its owner and
a deactivation, the account's API tokens are refused with 401 ``token_revoked`` (before:
the web session ended and the old token still answered 200), and ``chal`` says "token
revoked, log in again". No answer is a 500.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.challenges_tests.factories import UserFactory
from tests.support.smtp_server import SmtpServer
from tests.support.web_server import WebServer, api_token, csrf_token, start_web_server, web_login

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests"  # UserFactory's
NEW = "Another-Good-Pass-42"


@pytest.fixture(scope="module")
def mail() -> Iterator[SmtpServer]:
    with SmtpServer() as smtp:
        yield smtp


@pytest.fixture(scope="module")
def server(django_db_setup, redis_server, mail, tmp_path_factory) -> Iterator[WebServer]:
    running = start_web_server(
        redis_url=redis_server.url,
        log_path=tmp_path_factory.mktemp("gunicorn") / "web.log",
        env={
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(mail.port),
        },
    )
    yield running
    running.stop()


@pytest.fixture
def web(server: WebServer) -> WebServer:
    server.clear_cache()
    return server


def api(server: WebServer, key: str) -> requests.Response:
    return requests.get(
        f"{server.url}/api/v1/submissions/", headers={"Authorization": f"Token {key}"}, timeout=30
    )


def assert_revoked(server: WebServer, key: str, reason: str) -> None:
    answer = api(server, key)
    assert answer.status_code == 401, answer.text
    body = answer.json()
    assert body["code"] == "token_revoked" and body["reason"] == reason, body


def post(session: requests.Session, server: WebServer, path: str, data: dict, **kwargs):
    return session.post(
        server.url + path,
        data={**data, "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")},
        headers={"Referer": server.url + path},
        allow_redirects=False,
        timeout=60,
        **kwargs,
    )


def no_server_error(server: WebServer) -> None:
    log = server.log_tail(200_000)
    assert "Traceback" not in log and '" 500 ' not in log, log[-4000:]


def test_a_password_reset_by_the_mailed_link_revokes_the_tokens_and_chal_says_so(
    web, mail, tmp_path
):
    UserFactory(username="forgetful", email="forgetful@example.org")
    bystander = UserFactory(username="bystander")
    keys = [api_token(web, "forgetful", PASSWORD) for _ in range(2)]
    theirs = api_token(web, bystander.username, PASSWORD)
    assert api(web, keys[0]).status_code == 200

    session = requests.Session()
    csrf_token(session, web.url + "/accounts/password/reset/")
    asked = post(session, web, "/accounts/password/reset/", {"email": "forgetful@example.org"})
    assert asked.status_code == 302
    message = mail.wait_for(to="forgetful@example.org")[0]
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://127\.0\.0\.1:\d+/accounts/password/reset/key/\S+", text).group(0)
    form = session.get(link, timeout=30)  # allauth moves the key into the session first
    assert form.status_code == 200 and 'name="password1"' in form.text
    done = post(session, web, form.url.removeprefix(web.url), {"password1": NEW, "password2": NEW})
    assert done.status_code == 302, done.text[:2000]

    for key in keys:
        assert_revoked(web, key, "password_reset")
    assert api(web, theirs).status_code == 200
    env = {**os.environ, "CHAL_SERVER": web.url, "CHAL_TOKEN": keys[0],
           "CHAL_CONFIG": str(tmp_path / "chal.json")}  # fmt: skip
    cli = subprocess.run(
        [str(Path(sys.executable).parent / "chal"), "submissions"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert cli.returncode == 1
    assert "token revoked, log in again" in cli.stderr
    assert "because the account's password was reset" in cli.stderr
    assert api(web, api_token(web, "forgetful", NEW)).status_code == 200
    no_server_error(web)


def test_a_password_an_organizer_sets_anew_revokes_the_tokens(web):
    member = UserFactory(username="member")
    UserFactory(username="root", is_staff=True, is_superuser=True)
    key = api_token(web, "member", PASSWORD)
    organizer = web_login(web, "root", PASSWORD)
    path = f"/admin/auth/user/{member.pk}/password/"
    csrf_token(organizer, web.url + path)
    answer = post(
        organizer, web, path, {"password1": NEW, "password2": NEW, "usable_password": "true"}
    )
    assert answer.status_code == 302, answer.text[:2000]
    assert_revoked(web, key, "password_set")
    assert api(web, api_token(web, "member", NEW)).status_code == 200
    no_server_error(web)


def test_a_password_changed_by_its_owner_revokes_the_tokens(web):
    UserFactory(username="helper", is_staff=True)
    key = api_token(web, "helper", PASSWORD)
    session = web_login(web, "helper", PASSWORD)
    csrf_token(session, web.url + "/admin/password_change/")
    answer = post(
        session,
        web,
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )
    assert answer.status_code == 302, answer.text[:2000]
    assert_revoked(web, key, "password_changed")
    assert session.get(web.url + "/admin/", timeout=30).status_code == 200  # this session lives
    no_server_error(web)


def test_deactivating_an_account_revokes_the_tokens(web):
    leaver = UserFactory(username="leaver")
    UserFactory(username="root", is_staff=True, is_superuser=True)
    key = api_token(web, "leaver", PASSWORD)
    organizer = web_login(web, "root", PASSWORD)
    csrf_token(organizer, web.url + "/admin/auth/user/")
    answer = post(
        organizer,
        web,
        "/admin/auth/user/",
        {"action": "deactivate_accounts", "_selected_action": [leaver.pk], "index": "0"},
    )
    assert answer.status_code == 302, answer.text[:2000]
    leaver.refresh_from_db()
    assert leaver.is_active is False
    assert_revoked(web, key, "deactivated")
    relogin = requests.post(
        web.url + "/api/v1/auth/token/",
        data={"username": "leaver", "password": PASSWORD},
        timeout=30,
    )
    assert relogin.status_code == 400  # a deactivated account cannot sign in
    no_server_error(web)
