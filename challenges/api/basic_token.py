"""``Authorization: Basic <username:API token>``: an API token given the way generic data
tools send credentials (HTTP Basic), for the downloads they make by themselves.

``mlcroissant`` fetches a Croissant file's ``contentUrl`` with the username and password of
``CROISSANT_BASIC_AUTH_USERNAME`` / ``CROISSANT_BASIC_AUTH_PASSWORD``, and ``requests``
sends a ``~/.netrc`` entry the same way. The password must be one of the user's API tokens
(never their account password: Basic here is not a second login path, it has no login
rate limit to bypass); the token is checked by django-rest-knox exactly as ``Token <key>``
is, so expiry and revocation hold, and the username must be the token's owner's.
Only the read-only download endpoints that such tools fetch accept it.
"""

from __future__ import annotations

import base64
import binascii

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

INVALID = "Invalid credentials: give your username and one of your API tokens as the password."


class BasicTokenAuthentication(BaseAuthentication):
    """HTTP Basic with an API token as the password (see the module)."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"basic":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(INVALID)
        try:
            decoded = base64.b64decode(header[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise exceptions.AuthenticationFailed(INVALID) from exc
        username, sep, token = decoded.partition(":")
        if not sep or not token:
            raise exceptions.AuthenticationFailed(INVALID)
        try:
            user, auth_token = TokenAuthentication().authenticate_credentials(token.encode())
        except exceptions.AuthenticationFailed as exc:
            raise exceptions.AuthenticationFailed(INVALID) from exc
        if user.get_username() != username:
            raise exceptions.AuthenticationFailed(INVALID)
        return user, auth_token

    def authenticate_header(self, request) -> str:
        return 'Basic realm="api"'


class BasicTokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI schema's word for it: HTTP Basic (password: an API token)."""

    target_class = "challenges.api.basic_token.BasicTokenAuthentication"
    name = "basicTokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "username and one of your API tokens as the password",
        }
