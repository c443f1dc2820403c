
"""Usernames people cannot confuse (issue 25): a new username that reads as an existing one
(UTS #39 skeleton, case folded) or holds a character that shows as nothing is refused on
every path that names an account, the message naming the look-alike; the first OIDC
sign-in never fails for it, it picks a free safe name."""

from __future__ import annotations

import unicodedata

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from challenges.accounts.adapters import AccountAdapter
from challenges.accounts.usernames import username_problem, validate_username
from challenges.team_names import name_key
from tests.accounts_tests.oidc_helpers import (
    CALLBACK,
    logged_in_user,
    oidc,  # noqa: F401 - the provider fixture
    sign_in_at_provider,
    start,
)
from tests.challenges_tests.factories import ChallengeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()

LOOKALIKES_OF_ALICE = [
    "\u0430lice",  # Cyrillic а
    "AIice",  # capital I for l
    "a1ice",  # digit one for l
    "\u1d00lice",  # ᴀ LATIN LETTER SMALL CAPITAL A (issue 39)
]
INVISIBLE = ["ali\u3164ce", "alice\u115f", "\u1160alice", "ali\uffa0ce"]


def signup(client: Client, username: str, email: str) -> str:
    response = client.post(
        "/accounts/signup/",
        {
            "email": email,
            "username": username,
            "password1": "a-long-enough-password-1",
            "password2": "a-long-enough-password-1",
        },
    )
    return response.content.decode()


@pytest.mark.parametrize("username", LOOKALIKES_OF_ALICE)
def test_sign_up_refuses_a_look_alike_naming_the_existing_user(client, username) -> None:
    UserFactory(username="alice")
    page = signup(client, username, "new@example.org")
    assert "reads the same as the existing user “alice”" in page
    assert not User.objects.filter(username=username).exists()
    assert not EmailAddress.objects.filter(email="new@example.org").exists()


@pytest.mark.parametrize("username", INVISIBLE)
def test_sign_up_refuses_characters_that_show_as_nothing(client, username) -> None:
    page = signup(client, username, "filler@example.org")
    assert "show as nothing" in page and "HANGUL" in page
    assert not User.objects.filter(username=username).exists()


@pytest.mark.parametrize("mark", ["\u0307", "\u0301", "\u0323", "\u0303"])
def test_a_combining_mark_makes_no_new_username(mark) -> None:
    """The username field's own pattern refuses a lone mark; the look-alike rule (the one key
    of team names and usernames, ``team_names.name_key``) refuses the composed letter too."""
    UserFactory(username="alice")
    for attempt in (f"ali{mark}ce", unicodedata.normalize("NFC", f"ali{mark}ce")):
        assert "reads the same as the existing user “alice”" in (
            username_problem(username=attempt) or ""
        )
    assert name_key(f"Ali{mark}ceTeam") == name_key("AliceTeam")


def test_a_distinct_name_still_signs_up_and_case_alone_is_taken(client) -> None:
    UserFactory(username="alice")
    # Case alone: the look-alike rule (the case-folded skeleton, issue 51) names the account.
    assert "reads the same as the existing user “alice”" in signup(client, "ALICE", "u@example.org")
    assert not User.objects.filter(username="ALICE").exists()
    signup(client, "alicia", "alicia@example.org")
    assert User.objects.filter(username="alicia").exists()


def test_the_console_refuses_a_look_alike_account(client) -> None:
    UserFactory(username="alice")
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page = client.post(
        "/admin/auth/user/add/",
        {"username": "AIice", "password1": "x-Long-pass-123", "password2": "x-Long-pass-123",
         "usable_password": "true"},
    )  # fmt: skip
    assert page.status_code == 200
    assert "reads the same as the existing user “alice”" in page.content.decode()
    assert not User.objects.filter(username="AIice").exists()
    # An existing account's unchanged name is not judged again when it is edited, even
    # when an older look-alike exists (data from before the rule).
    User.objects.create(username="AIice")
    validate_username("alice")
    validate_username("AIice")
    with pytest.raises(ValidationError, match=r"“alice”|“AIice”"):
        validate_username("A1ice")


def test_a_provider_name_that_is_a_look_alike_becomes_a_free_safe_one() -> None:
    UserFactory(username="alice")
    adapter = AccountAdapter()
    for given in ("\u0430lice", "alice", "ali\u3164ce", "AIice"):
        user = User(username=given, email="someone@example.org")
        adapter.populate_username(None, user)
        assert user.username != given
        assert username_problem(username=user.username) is None
        assert name_key(user.username) != name_key("alice")
    # Nothing usable at all: still a name, never a failed sign-in.
    user = User(username="\u0430lice", email="\u0430lice@example.org")
    adapter.populate_username(None, user)
    assert user.username and username_problem(username=user.username) is None


def test_first_oidc_sign_in_with_a_taken_name_gets_a_free_one(oidc) -> None:  # noqa: F811
    local = UserFactory(username="dana", email="dana.local@elsewhere.example")
    client = Client()
    done = client.get(CALLBACK, sign_in_at_provider(start(client), "dana@example.org"))
    assert done.status_code == 302, done.content[:300]
    user = logged_in_user(client)
    assert user is not None and user != local
    assert user.username != "dana" and name_key(user.username) != name_key("dana")


def test_the_check_command_lists_older_look_alikes(capsys) -> None:
    challenge = ChallengeFactory(slug="olds")
    TeamFactory(challenge=challenge, name="AliceTeam")
    older = TeamFactory(challenge=challenge, name="Herons")
    # Data from before the rule, written around the services (and the key's constraint).
    type(older).objects.filter(pk=older.pk).update(name="AIice Team")
    User.objects.create(username="bob")
    User.objects.create(username="b\u03bfb")  # Greek omicron
    User.objects.create(username="carol\u3164")  # Hangul filler
    with pytest.raises(CommandError, match=r"^1 look-alike"):
        call_command("check_lookalike_names", "--challenge", "olds")
    out = capsys.readouterr().out
    assert "teams of olds:" in out and "'AliceTeam'" in out and "'AIice Team'" in out
    with pytest.raises(CommandError, match=r"^3 look-alike"):
        call_command("check_lookalike_names")
    out = capsys.readouterr().out
    assert "users:" in out and "'b\u03bfb'" in out and "U+3164 HANGUL FILLER" in out


def test_the_check_command_is_quiet_when_all_is_well(capsys) -> None:
    ChallengeFactory(slug="fine")
    call_command("check_lookalike_names", "--challenge", "fine")
    assert "No look-alike names." in capsys.readouterr().out


@pytest.mark.parametrize("attempt", ["ali\u03f2e", "ali\u0441e\u0442", "al\tice", "ali\u00a0ce"])
def test_round_6_usernames_are_refused_beside_alice(attempt):
    """Issue 66: ``aliϲe`` (U+03F2) was accepted beside ``alice``; scripts mixed beyond UTS
    #39's "Moderately Restrictive" level, control and separator characters are refused."""
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ValidationError

    from challenges.accounts.usernames import validate_username

    get_user_model().objects.create_user(username="alice", password="x")
    with pytest.raises(ValidationError):
        validate_username(attempt)
    validate_username("alice")  # an existing account's own name still passes
    validate_username("\u0430\u043b\u0438\u0441\u0430")  # all Cyrillic: one script
