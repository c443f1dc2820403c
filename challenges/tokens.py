"""API tokens (docs/architecture.md §7: ``Authorization: Token <key>``), stored as
digests.

django-rest-knox keeps a SHA-512 digest of each key and the key's first characters
(``token_key``) to find it; the key itself exists only in the answer that creates it (the
API's ``POST auth/token/``, the account's token page), so neither the database nor the
console can show it again. A person may hold several (one per machine), at most
``API_TOKENS_PER_USER``; each one is revocable by its owner (page, ``DELETE auth/token/``,
``chal logout``) and by organizers (console, recorded in the audit log).

A change to the account revokes all of them at once (:func:`api_tokens_revoke_all`, issue
39): a password reset, changed or set anew, and a deactivation (``accounts.services``, the
one caller for each path). Those tokens are remembered by digest for a while
(``REVOKED_API_TOKEN_NOTICE_DAYS``), so a client still sending one is told why
(:func:`revoked_token_notice`: 401 ``token_revoked``, and ``chal`` says "token revoked, log
in again") instead of a bare "invalid token".
"""

from __future__ import annotations

from datetime import timedelta
from hmac import compare_digest

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS

from .audit import audit_record
from .models import RevokedApiToken, TokenRevocation

PREFIX_CHARS = 8  # shown after creation: enough to tell tokens apart, never enough to use


class TokenLimitReached(Exception):
    def __init__(self, limit: int) -> None:
        self.message = (
            f"You already have {limit} API tokens, the most one account may hold; revoke one "
            "you no longer use on your account's API token page (/account/token/), or run "
            "`chal logout` where it is saved."
        )
        super().__init__(self.message)


def token_prefix(*, token: AuthToken) -> str:
    """How a stored token is shown: its first characters, then an ellipsis."""
    return f"{token.token_key[:PREFIX_CHARS]}…"


def api_tokens_for(*, user: AbstractBaseUser) -> QuerySet[AuthToken]:
    """The user's tokens, newest first (expired ones are removed when one is next used)."""
    return AuthToken.objects.filter(user_id=user.pk).order_by("-created")


def api_token_create(*, user: AbstractBaseUser) -> tuple[AuthToken, str]:
    """A new token for ``user``: its row and its key, which is never readable again.

    Raises :class:`TokenLimitReached` when the user holds ``API_TOKENS_PER_USER`` already
    (nothing is created); the check runs under the user's row lock, so two logins at once
    cannot both pass it.
    """
    limit = settings.API_TOKENS_PER_USER
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk").get()
        if AuthToken.objects.filter(user_id=user.pk).count() >= limit:
            raise TokenLimitReached(limit)
        return AuthToken.objects.create(user=user, expiry=settings.REST_KNOX["TOKEN_TTL"])


def api_token_revoke(*, token: AuthToken, actor: AbstractBaseUser | None) -> None:
    """Delete ``token``: every client using it is refused from the next request on.

    An organizer revoking someone else's token is an audit event (the owner is the object,
    the prefix tells which token); a person revoking their own is not.
    """
    owner = token.user
    with transaction.atomic():
        if actor is not None and actor.pk != owner.pk:
            audit_record(
                actor=actor,
                action="api_token.revoke",
                obj=owner,
                before={"token": token_prefix(token=token), "created": token.created},
            )
        AuthToken.objects.filter(digest=token.digest).delete()


def api_tokens_revoke_all(*, user: AbstractBaseUser, reason: TokenRevocation) -> int:
    """Delete every API token of ``user`` (clients using them are refused from the next
    request on, with ``reason``); returns how many. Call it in the transaction that changes
    the account, so both happen or neither. Notices older than
    ``REVOKED_API_TOKEN_NOTICE_DAYS`` are forgotten here."""
    with transaction.atomic():
        tokens = list(AuthToken.objects.filter(user_id=user.pk).values_list("token_key", "digest"))
        RevokedApiToken.objects.bulk_create(
            [
                RevokedApiToken(user_id=user.pk, token_key=key, digest=digest, reason=reason)
                for key, digest in tokens
            ],
            ignore_conflicts=True,  # a digest is unique: revoked twice is revoked once
        )
        AuthToken.objects.filter(user_id=user.pk).delete()
        keep = timedelta(days=settings.REVOKED_API_TOKEN_NOTICE_DAYS)
        RevokedApiToken.objects.filter(revoked_at__lt=timezone.now() - keep).delete()
    return len(tokens)


def revoked_token_notice(*, key: str) -> RevokedApiToken | None:
    """The record of ``key`` when an account change revoked it (within the notice period),
    else None. Compared by digest, as knox compares live tokens."""
    candidates = RevokedApiToken.objects.filter(token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH])
    for notice in candidates[:50]:  # a prefix of 15 hex characters: in practice one
        try:
            digest = hash_token(key)
        except (TypeError, ValueError):  # not a key knox could have made
            return None
        if compare_digest(digest, notice.digest):
            return notice
    return None
