"""The one authentication backend: Django's, refusing accounts whose e-mail is unconfirmed."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractBaseUser


def email_unconfirmed(user: AbstractBaseUser) -> bool:
    """True for a local sign-up whose e-mail address was never confirmed.

    Accounts made by organizers (admin console, ``ensure_accounts``) have no allauth
    ``EmailAddress`` rows and are not affected.
    """
    from allauth.account.models import EmailAddress

    rows = EmailAddress.objects.filter(user=user)
    return rows.exists() and not rows.filter(verified=True).exists()


class VerifiedEmailBackend(ModelBackend):
    """Username and password, for every form (site, admin, ``POST /api/v1/auth/token/``).

    A signed-up user who has not clicked the mailed link cannot log in anywhere, so the
    verification cannot be skipped by going through another login form.
    """

    def user_can_authenticate(self, user: AbstractBaseUser) -> bool:
        return super().user_can_authenticate(user) and not email_unconfirmed(user)
