"""A change to an account revokes its API tokens (issue 39): a password reset by the mailed
link, set anew by an organizer, changed by its owner, and a deactivation. Each path through
the site's real views (allauth's reset with a real SMTP server, the console's forms); the
token is then refused with 401 ``token_revoked`` naming the reason, other accounts' tokens
keep working, and a new login gets a working token. The same four through gunicorn, and
the command-line client's words, are in ``tests/security_tests/test_account_changes_hostile.py``
and ``tests/cli_tests/test_live.py``."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from challenges.models import RevokedApiToken, TokenRevocation
from challenges.tokens import api_token_create, api_tokens_revoke_all
from tests.challenges_tests.factories import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
NEW = "Another-Good-Pass-42"


def api_status(key: str) -> tuple[int, dict]:
    response = Client().get("/api/v1/submissions/", HTTP_AUTHORIZATION=f"Token {key}")
    return response.status_code, response.json()


def tokens_of(user, n: int = 2) -> list[str]:
    return [api_token_create(user=user)[1] for _ in range(n)]


def assert_revoked(keys: list[str], reason: TokenRevocation) -> None:
    for key in keys:
        status, body = api_status(key)
        assert status == 401, body
        assert body["code"] == "token_revoked" and body["reason"] == reason.value
        assert reason.label in body["detail"]


def test_a_password_reset_by_the_mailed_link_revokes_every_token(smtp):
    user = UserFactory(username="forgetful", email="forgetful@example.org")
    bystander = UserFactory(username="bystander")
    keys, theirs = tokens_of(user), tokens_of(bystander, 1)
    assert api_status(keys[0])[0] == 200
    asked = Client().post("/accounts/password/reset/", {"email": "forgetful@example.org"})
    assert asked.status_code == 302
    message = smtp.wait_for(to="forgetful@example.org")[0]
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+", body).group(0)
    client = Client()
    form = client.get(urlsplit(link).path, follow=True)
    form_path = form.redirect_chain[-1][0] if form.redirect_chain else urlsplit(link).path
    done = client.post(form_path, {"password1": NEW, "password2": NEW})
    assert done.status_code == 302

    assert_revoked(keys, TokenRevocation.RESET)
    assert not AuthToken.objects.filter(user=user).exists()
    assert api_status(theirs[0])[0] == 200
    fresh = Client().post("/api/v1/auth/token/", {"username": "forgetful", "password": NEW})
    # Logging in again works (an organizer-made account: allauth's reset added an unverified
    # row for its address, which locked it out before issue 39).
    assert fresh.status_code == 200, fresh.json()
    assert api_status(fresh.json()["token"])[0] == 200


def test_asking_for_a_reset_of_someone_s_address_locks_nobody_out(smtp):
    """Anyone may ask for a reset mail; before issue 39 the unverified address row allauth
    adds then made the account's password refused everywhere."""
    UserFactory(username="target", email="target@example.org")
    asked = Client().post("/accounts/password/reset/", {"email": "target@example.org"})
    assert asked.status_code == 302
    smtp.wait_for(to="target@example.org")
    login = Client().post("/accounts/login/", {"username": "target", "password": "pw-for-tests"})
    assert login.status_code == 302
    token = Client().post("/api/v1/auth/token/", {"username": "target", "password": "pw-for-tests"})
    assert token.status_code == 200


@pytest.mark.parametrize("usable", [True, False])
def test_a_password_an_organizer_sets_anew_revokes_every_token(usable):
    user = UserFactory(username="member")
    keys = tokens_of(user)
    organizer = Client()
    organizer.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    form = {"password1": NEW, "password2": NEW, "usable_password": "true"}
    if not usable:  # "password-based authentication: disabled"
        form = {"usable_password": "false", "unset-password": "1"}  # the "disable" button
    answer = organizer.post(f"/admin/auth/user/{user.pk}/password/", form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    user.refresh_from_db()
    assert user.has_usable_password() is usable and (not usable or user.check_password(NEW))
    assert_revoked(keys, TokenRevocation.SET_ANEW)


def test_a_password_changed_by_its_owner_revokes_every_token_and_keeps_the_session():
    staff = UserFactory(username="helper", is_staff=True)
    keys = tokens_of(staff)
    client = Client()
    client.force_login(staff)
    answer = client.post(
        "/admin/password_change/",
        {"old_password": "pw-for-tests", "new_password1": NEW, "new_password2": NEW},
    )
    assert answer.status_code == 302 and answer["Location"] == "/admin/password_change/done/"
    staff.refresh_from_db()
    assert staff.check_password(NEW)
    assert_revoked(keys, TokenRevocation.CHANGED)
    assert client.get("/admin/").status_code == 200  # this session goes on
    # A wrong old password changes nothing.
    again = tokens_of(staff, 1)
    refused = client.post(
        "/admin/password_change/",
        {"old_password": "wrong", "new_password1": "x-Y-z-12345", "new_password2": "x-Y-z-12345"},
    )
    assert refused.status_code == 200 and api_status(again[0])[0] == 200


def test_deactivating_an_account_revokes_every_token_and_reactivating_brings_none_back():
    user = UserFactory(username="leaver")
    keys = tokens_of(user)
    organizer = Client()
    organizer.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page = organizer.get(f"/admin/auth/user/{user.pk}/change/")
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name not in ("password", "groups", "user_permissions")
    }
    data.update(
        is_active="",
        date_joined_0=user.date_joined.strftime("%Y-%m-%d"),
        date_joined_1=user.date_joined.strftime("%H:%M:%S"),
        last_login_0="",
        last_login_1="",
    )
    data.pop("is_active")  # an unticked box is absent from the form
    data.pop("date_joined", None)
    data.pop("last_login", None)
    answer = organizer.post(f"/admin/auth/user/{user.pk}/change/", data)
    assert answer.status_code == 302, answer.content.decode()[:3000]
    user.refresh_from_db()
    assert user.is_active is False
    assert_revoked(keys, TokenRevocation.DEACTIVATED)
    status, body = api_status(keys[0])
    assert "the organizers may reactivate it" in body["detail"]
    User.objects.filter(pk=user.pk).update(is_active=True)
    assert_revoked(keys, TokenRevocation.DEACTIVATED)


def test_the_console_action_deactivates_others_but_never_its_user():
    users = [UserFactory(username=f"spam{i}") for i in range(3)]
    keys = {user.pk: tokens_of(user, 1)[0] for user in users}
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    own = tokens_of(root, 1)[0]
    organizer = Client()
    organizer.force_login(root)
    answer = organizer.post(
        "/admin/auth/user/",
        {
            "action": "deactivate_accounts",
            "_selected_action": [u.pk for u in users] + [root.pk],
        },
        follow=True,
    )
    assert "3 account(s) deactivated" in answer.content.decode()
    assert "Your own account stays active" in answer.content.decode()
    for user in users:
        assert api_status(keys[user.pk])[1]["code"] == "token_revoked"
    assert api_status(own)[0] == 200


def test_a_token_nobody_revoked_is_refused_as_before():
    status, body = api_status("0" * 40)
    assert status == 401 and "code" not in body and body["detail"] == "Invalid token."
    status, body = api_status("not-hex-at-all")
    assert status == 401 and "code" not in body


def test_the_notice_is_forgotten_after_its_days(settings):
    settings.REVOKED_API_TOKEN_NOTICE_DAYS = 30
    user, other = UserFactory(), UserFactory()
    (old,) = tokens_of(user, 1)
    api_tokens_revoke_all(user=user, reason=TokenRevocation.SET_ANEW)
    RevokedApiToken.objects.update(revoked_at=timezone.now() - timedelta(days=31))
    tokens_of(other, 1)
    api_tokens_revoke_all(user=other, reason=TokenRevocation.DEACTIVATED)  # forgets old ones
    assert list(RevokedApiToken.objects.values_list("user_id", flat=True)) == [other.pk]
    status, body = api_status(old)
    assert status == 401 and "code" not in body


# ``manage.py changepassword``: Django's command reads the password from the terminal
# (getpass); these tests answer its prompt through the command's own ``_get_pass`` hook, as
# Django's tests of the command do, since no terminal is attached here.


def _change_password(monkeypatch, username: str, answers: list[str]) -> str:
    from io import StringIO

    from django.contrib.auth.management.commands import changepassword
    from django.core.management import call_command

    replies = iter(answers)
    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": next(replies))
    out = StringIO()
    call_command("changepassword", username, stdout=out)
    return out.getvalue()


def test_manage_py_changepassword_revokes_the_account_s_tokens(monkeypatch):
    user = UserFactory(username="shell-user")
    bystander = UserFactory(username="shell-bystander")
    keys, theirs = tokens_of(user), tokens_of(bystander, 1)
    out = _change_password(monkeypatch, "shell-user", [NEW, NEW])
    assert "Password changed successfully for user 'shell-user'" in out
    assert "Revoked 2 API token(s) of the account." in out
    assert_revoked(keys, TokenRevocation.CHANGED)
    assert api_status(theirs[0])[0] == 200
    user.refresh_from_db()
    assert user.check_password(NEW)


def test_a_refused_changepassword_changes_and_revokes_nothing(monkeypatch):
    from django.core.management import CommandError

    user = UserFactory(username="shell-typist")
    keys = tokens_of(user, 1)
    with pytest.raises(CommandError, match="Aborting password change"):
        _change_password(monkeypatch, "shell-typist", ["one-Pass-42", "two-Pass-42"] * 3)
    with pytest.raises(CommandError, match="does not exist"):
        _change_password(monkeypatch, "nobody-here", [NEW, NEW])
    assert api_status(keys[0])[0] == 200
    user.refresh_from_db()
    assert not user.check_password(NEW)
