"""API tokens stored hashed (issue 25): a key is readable once, in the answer that makes it;
the database keeps a digest; the account page and the console show a prefix; the owner and
organizers can revoke; `Authorization: Token <key>` (docs/architecture.md §7) works as
before."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIClient

from challenges.models import AuditEvent
from challenges.tokens import api_token_create
from tests.challenges_tests.factories import UserFactory

PASSWORD = "pw-for-tests"  # UserFactory's


def login(api: APIClient, username: str) -> str:
    response = api.post(
        "/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    assert set(response.json()) == {"token"}
    return response.json()["token"]


def authed(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def all_stored_text() -> str:
    """Every column of every token row, as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM knox_authtoken")
        rows = cursor.fetchall()
        cursor.execute("SELECT * FROM authtoken_token")
        rows += cursor.fetchall()
    return repr(rows)


@pytest.mark.django_db
def test_a_key_is_stored_as_a_digest_and_works_as_before() -> None:
    alice = UserFactory(username="alice")
    key = login(APIClient(), "alice")
    second = login(APIClient(), "alice")  # another machine: another token
    assert key != second and len(key) >= 40
    for k in (key, second):
        assert authed(k).get("/api/v1/submissions/").status_code == 200
        assert k not in all_stored_text()  # nothing readable of the key is kept
    stored = AuthToken.objects.get(token_key=key[:15])
    assert stored.user == alice and stored.digest == hash_token(key) and stored.expiry is None
    forged = key[:-1] + ("1" if key[-1] == "0" else "0")  # the same prefix, one digit off
    assert authed(forged).get("/api/v1/submissions/").status_code == 401
    wrong = APIClient().post(
        "/api/v1/auth/token/", {"username": "alice", "password": "nope"}, format="json"
    )
    assert wrong.status_code == 400 and "non_field_errors" in wrong.json()


@pytest.mark.django_db
def test_a_token_revokes_itself_and_session_calls_are_told_how() -> None:
    UserFactory(username="alice")
    key = login(APIClient(), "alice")
    other = login(APIClient(), "alice")
    assert authed(key).delete("/api/v1/auth/token/").status_code == 204
    assert authed(key).get("/api/v1/submissions/").status_code == 401
    assert authed(other).get("/api/v1/submissions/").status_code == 200  # only that one

    session = APIClient()
    session.force_login(UserFactory(username="bob"))
    refused = session.delete("/api/v1/auth/token/")
    assert refused.status_code == 400 and refused.json()["code"] == "not_a_token"
    assert APIClient().delete("/api/v1/auth/token/").status_code == 400


@pytest.mark.django_db
def test_an_account_holds_a_bounded_number_of_tokens(settings) -> None:
    settings.API_TOKENS_PER_USER = 2
    UserFactory(username="alice")
    login(APIClient(), "alice")
    login(APIClient(), "alice")
    refused = APIClient().post(
        "/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert refused.status_code == 400 and refused.json()["code"] == "token_limit"
    assert "/account/token/" in refused.json()["detail"]
    assert AuthToken.objects.count() == 2


@pytest.mark.django_db
def test_the_token_page_shows_a_new_key_once_and_prefixes_after(client) -> None:
    alice = UserFactory(username="alice")
    _, old_key = api_token_create(user=alice)
    client.force_login(alice)
    page = client.get("/account/token/")
    html = page.content.decode()
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert old_key not in html and old_key[:15] not in html.replace(
        f'value="{old_key[:15]}"', ""
    )  # only the revoke form names it, by its stored prefix
    assert f"{old_key[:8]}…" in html

    made = client.post("/account/token/", {"action": "create"})
    new_key = made.context["new_key"]
    assert new_key in made.content.decode() and 'id="new-token"' in made.content.decode()
    assert "no-store" in made["Cache-Control"]
    assert authed(new_key).get("/api/v1/submissions/").status_code == 200
    again = client.get("/account/token/").content.decode()
    assert new_key not in again and f"{new_key[:8]}…" in again

    client.post("/account/token/", {"action": "revoke", "token": new_key[:15]})
    assert authed(new_key).get("/api/v1/submissions/").status_code == 401
    assert authed(old_key).get("/api/v1/submissions/").status_code == 200
    # Another person's token cannot be named on your page.
    bob = UserFactory(username="bob")
    _, bob_key = api_token_create(user=bob)
    missing = client.post("/account/token/", {"action": "revoke", "token": bob_key[:15]})
    assert missing.status_code == 404
    assert authed(bob_key).get("/api/v1/submissions/").status_code == 200


@pytest.mark.django_db
def test_the_console_lists_prefixes_only_and_revokes_with_an_audit_event(client) -> None:
    alice = UserFactory(username="alice")
    keys = [api_token_create(user=alice)[1] for _ in range(2)]
    organizer = UserFactory(username="org", is_staff=True, is_superuser=True)
    client.force_login(organizer)
    listing = client.get("/admin/knox/authtoken/").content.decode()
    for key in keys:
        assert key not in listing and f"{key[:8]}…" in listing
    token = AuthToken.objects.get(token_key=keys[0][:15])
    detail = client.get(f"/admin/knox/authtoken/{token.pk}/change/").content.decode()
    assert keys[0] not in detail and "alice" in detail
    assert client.get("/admin/knox/authtoken/add/").status_code == 403

    client.post(
        "/admin/knox/authtoken/",
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )
    assert authed(keys[0]).get("/api/v1/submissions/").status_code == 401
    assert authed(keys[1]).get("/api/v1/submissions/").status_code == 200
    event = AuditEvent.objects.get(action="api_token.revoke")
    assert event.actor == organizer and event.object_repr == "alice"
    assert event.before["token"] == f"{keys[0][:8]}…"
    # DRF's clear-key admin is gone.
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 404


@pytest.mark.django_db
def test_the_schema_documents_the_same_token_header() -> None:
    schema = APIClient().get("/api/v1/schema/?format=json").json()
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert scheme["type"] == "apiKey" and scheme["in"] == "header"
    assert scheme["name"] == "Authorization" and '"Token"' in scheme["description"]
    assert TokenAuthentication().authenticate_header(None) == "Token"


BEFORE = ("challenges", "0006_flip_examples_and_prize_nfr_limit")
AFTER = ("challenges", "0007_api_tokens_hashed")


@pytest.mark.django_db(transaction=True)
def test_the_migration_hashes_existing_keys_so_clients_keep_working() -> None:
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    old = executor.loader.project_state([BEFORE, ("authtoken", "0004_alter_tokenproxy_options")])
    old = old.apps
    Token = old.get_model("authtoken", "Token")
    keys = {
        alice.pk: Token.objects.create(user_id=alice.pk, key="a" * 8 + "0123456789abcdef" * 2).key,
        bob.pk: Token.objects.create(user_id=bob.pk, key="f00dfeed" * 5).key,
    }
    executor.loader.build_graph()
    executor.migrate([AFTER])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to the current schema

    for user_id, key in keys.items():
        assert key not in all_stored_text()
        response = authed(key).get("/api/v1/submissions/")
        assert response.status_code == 200, (user_id, response.content)
        user, _ = TokenAuthentication().authenticate_credentials(key.encode())
        assert user.pk == user_id
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0
