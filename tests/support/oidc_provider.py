"""A real OpenID Connect provider for the tests, on 127.0.0.1, built on Authlib + Flask.

Authlib (a maintained OAuth 2 / OpenID Connect library) does the protocol: the
authorization-code grant with PKCE (S256, required), client authentication, and RS256 ID
tokens signed with a key published at the JWKS endpoint. This module only supplies the
storage (in memory), a login form where the test types who signs in, discovery and
userinfo. Nothing is mocked on the platform's side: allauth talks HTTP to this server.

    with OidcProvider(client_id="platform", client_secret="s3cret") as idp:
        idp.issuer  # http://127.0.0.1:<port>
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify, request
from joserfc.jwk import RSAKey
from markupsafe import escape
from werkzeug.serving import make_server

# Authlib refuses plain HTTP unless told otherwise; this server only listens on 127.0.0.1.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)  # empty: any (set by the test)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str) -> str:
        allowed = {"openid", "profile", "email"}
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return not self.redirect_uris or redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret or "", self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class User:
    email: str
    name: str

    @property
    def sub(self) -> str:
        return "sub-" + hashlib.sha256(self.email.encode()).hexdigest()[:16]


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: User
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str] | None:
        return None


class OidcProvider:
    """Start with ``start()`` (or ``with``); ``stop()`` shuts the server down."""

    def __init__(self, *, client_id: str, client_secret: str) -> None:
        self.client = Client(client_id, client_secret)
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig"})
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, User] = {}
        self.token_requests: list[dict[str, str]] = []
        self.id_token_audience: str | None = None  # set to forge an ID token for another client
        self._server = make_server("127.0.0.1", 0, self._app(), threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> OidcProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)

    def __enter__(self) -> OidcProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the Flask app ----------------------------------------------------------------

    def _app(self) -> Flask:
        app = Flask("test-oidc-provider")
        server = AuthorizationServer(
            app, query_client=self._query_client, save_token=self._save_token
        )
        server.register_grant(
            self._code_grant(), [self._openid_extension(), CodeChallenge(required=True)]
        )
        app.add_url_rule("/.well-known/openid-configuration", view_func=self._discovery)
        app.add_url_rule("/jwks", view_func=self._jwks)
        app.add_url_rule("/userinfo", view_func=self._userinfo)

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize():
            if request.method == "GET":
                server.get_consent_grant(end_user=None)  # validates client, PKCE, redirect
                return self._login_form()
            user = User(
                email=request.form["email"].strip(), name=request.form.get("name", "").strip()
            )
            grant = server.get_consent_grant(end_user=user)
            return server.create_authorization_response(grant_user=user, grant=grant)

        @app.route("/token", methods=["POST"])
        def token():
            self.token_requests.append(dict(request.form))
            return server.create_token_response()

        return app

    def _discovery(self):
        return jsonify(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile", "email"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    def _jwks(self):
        return jsonify({"keys": [self.key.as_dict(private=False)]})

    def _userinfo(self):
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        user = self.tokens.get(value) if scheme.lower() == "bearer" else None
        if user is None:
            return jsonify({"error": "invalid_token"}), 401
        return jsonify(_claims(user))

    def _login_form(self) -> str:
        # The authorization request stays in the form's address (query string), once.
        return (
            "<!doctype html><title>Test identity provider</title><h1>Organization sign-in</h1>"
            f'<form method="post" action="/authorize?{escape(request.query_string.decode())}">'
            '<label>E-mail <input name="email" id="idp-email"></label>'
            '<label>Name <input name="name" id="idp-name"></label>'
            '<button type="submit" id="idp-submit">Sign in</button></form>'
        )

    # --- storage for Authlib -----------------------------------------------------------

    def _query_client(self, client_id: str) -> Client | None:
        return self.client if client_id == self.client.client_id else None

    def _save_token(self, token: dict[str, Any], req) -> None:
        self.tokens[token["access_token"]] = req.user

    def _code_grant(self) -> type:
        provider = self

        class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code: str, req) -> None:
                payload = req.payload
                provider.codes[code] = Code(
                    code=code,
                    client_id=req.client.client_id,
                    redirect_uri=payload.redirect_uri,
                    scope=payload.scope,
                    user=req.user,
                    nonce=payload.data.get("nonce"),
                    code_challenge=payload.data.get("code_challenge"),
                    code_challenge_method=payload.data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                provider.codes.pop(authorization_code.code, None)  # a code works once

            def authenticate_user(self, authorization_code: Code) -> User:
                return authorization_code.user

        return AuthorizationCodeGrant

    def _openid_extension(self) -> OpenIDCode:
        provider = self

        class Extension(OpenIDCode):
            def exists_nonce(self, nonce: str, req) -> bool:
                return any(c.nonce == nonce for c in provider.codes.values())

            def resolve_client_private_key(self, client: Client) -> RSAKey:
                return provider.key

            def get_client_algorithm(self, client: Client) -> str:
                return "RS256"

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                audience = provider.id_token_audience or client.get_client_id()
                return {"iss": provider.issuer, "aud": [audience]}

            def get_encode_header(self, client: Client) -> dict[str, str]:
                return {"alg": "RS256", "kid": provider.key.kid}

            def generate_user_info(self, user: User, scope: str) -> UserInfo:
                return UserInfo(_claims(user))

        return Extension(require_nonce=False)


def _claims(user: User) -> dict[str, Any]:
    local = user.email.split("@")[0]
    return {
        "sub": user.sub,
        "email": user.email,
        "email_verified": True,
        "name": user.name or local,
        "preferred_username": local,
    }
