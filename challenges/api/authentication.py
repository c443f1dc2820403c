"""``Authorization: Token <key>`` (docs/architecture.md §7): django-rest-knox's check,
telling a client whose token an account change revoked why it is refused (issue 39).

A token revoked by a password reset, change or a new password, or by the account's
deactivation (``challenges.tokens.api_tokens_revoke_all``) is refused with 401
``{"detail": ..., "code": "token_revoked", "reason": ...}``, so the command-line client can
say "token revoked, log in again" rather than "invalid token". Any other unknown key gets
knox's own answer.
"""

from __future__ import annotations

from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from ..models import TokenRevocation
from ..tokens import revoked_token_notice

REVOKED_CODE = "token_revoked"


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate_credentials(self, token: bytes):
        try:
            return super().authenticate_credentials(token)
        except AuthenticationFailed:
            notice = revoked_token_notice(key=token.decode("utf-8", "replace"))
            if notice is None:
                raise
        reason = TokenRevocation(notice.reason)
        then = (
            "the organizers may reactivate it"
            if reason == TokenRevocation.DEACTIVATED
            else "log in again for a new one (`chal login`, or the account's API token page)"
        )
        raise AuthenticationFailed(
            {
                "detail": f"This API token was revoked on {notice.revoked_at:%Y-%m-%d %H:%M} "
                f"UTC because {reason.label}; {then}.",
                "code": REVOKED_CODE,
                "reason": reason.value,
            }
        )
