"""The one authentication backend: Django's, refusing accounts whose e-mail is unconfirmed."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractBaseUser


def email_unconfirmed(*, user: AbstractBaseUser) -> bool:
    """True for a local sign-up whose e-mail address was never confirmed.

    A sign-up's address is allauth's *primary* ``EmailAddress`` row. Accounts made by
    organizers (admin console, ``ensure_accounts``) have none; allauth adds an unverified,
    non-primary row for their address when anyone asks for a password reset (its reset
    token generator syncs ``user.email``), which must not lock them out (issue 39: a reset
    request for someone's address, or their own completed reset, ended their logins).
    """
    from allauth.account.models import EmailAddress

    rows = EmailAddress.objects.filter(user=user, primary=True)
    return rows.exists() and not EmailAddress.objects.filter(user=user, verified=True).exists()


class VerifiedEmailBackend(ModelBackend):
    """Username and password, for every form (site, admin, ``POST /api/v1/auth/token/``).

    A signed-up user who has not clicked the mailed link cannot log in anywhere, so the
    verification cannot be skipped by going through another login form.
    """

    def user_can_authenticate(self, user: AbstractBaseUser) -> bool:
        return super().user_can_authenticate(user) and not email_unconfirmed(user=user)
