"""Writes of an account that end its API tokens (issue 39): a password reset, changed or set
anew, and a deactivation.

Each path that changes a password or deactivates an account calls one of these, never
``user.set_password`` with a save of its own: allauth's reset by mailed link
(``AccountAdapter.set_password``), the console's "set password" form for any user and its
own "change password" page (``accounts.forms``), the console's user form and its action
when ``is_active`` goes off (``challenges.admin``). ``manage.py changepassword`` is
Django's prompt and save, so its wrapper (``accounts/management/commands``) revokes the tokens
in the same transaction by the same call as here. The web session ends by itself
(Django checks the password's hash on every request and refuses an inactive user); the
tokens do not, so they are revoked in the same transaction
(:func:`challenges.tokens.api_tokens_revoke_all`).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from challenges.models import TokenRevocation
from challenges.tokens import api_tokens_revoke_all


def account_password_set(
    *, user: AbstractBaseUser, password: str | None, reason: TokenRevocation
) -> AbstractBaseUser:
    """Give ``user`` the new ``password`` (None: no usable password, sign-in by other means
    only) and revoke every API token of the account, ``reason`` saying which path."""
    with transaction.atomic():
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save()
        api_tokens_revoke_all(user=user, reason=reason)
    return user


def account_deactivate(*, user: AbstractBaseUser) -> AbstractBaseUser:
    """``user`` can no longer sign in anywhere; every API token of the account is revoked
    (reactivating the account brings none back)."""
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        api_tokens_revoke_all(user=user, reason=TokenRevocation.DEACTIVATED)
    return user
