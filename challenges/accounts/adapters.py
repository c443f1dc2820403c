"""allauth adapters: sign-up switches and the allowed e-mail domains (env, settings/base.py)."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django import forms
from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import render

from challenges.accounts import usernames
from challenges.accounts.services import account_password_set
from challenges.models import TokenRevocation


def email_domain_allowed(*, email: str, allowed: list[str]) -> bool:
    """Whether ``email``'s domain is one of ``allowed`` (an empty list allows every domain).

    The domain must match exactly, so ``example.com`` does not let in ``evil-example.com``
    nor ``example.com.evil.net``; a sub-domain is allowed only when listed.
    """
    if not allowed:
        return True
    local, at, domain = (email or "").strip().lower().rpartition("@")
    return bool(local and at and domain in allowed)


class AccountAdapter(DefaultAccountAdapter):
    """Local sign-up: ``LOCAL_SIGNUP_ENABLED``, limited to ``SIGNUP_ALLOWED_EMAIL_DOMAINS``."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return settings.LOCAL_SIGNUP_ENABLED

    def clean_email(self, email: str) -> str:
        email = super().clean_email(email)
        allowed = settings.SIGNUP_ALLOWED_EMAIL_DOMAINS
        if not email_domain_allowed(email=email, allowed=allowed):
            raise forms.ValidationError(
                "Sign-up is open to addresses at " + ", ".join(f"@{d}" for d in allowed) + " only."
            )
        return email


    def set_password(self, user, password: str) -> None:
        """allauth's one way to write a password, reached on this site only by the reset
        through the mailed link (``accounts/urls.py`` mounts no other password page): the
        new password ends every API token of the account (``accounts.services``)."""
        account_password_set(user=user, password=password, reason=TokenRevocation.RESET)

    def send_password_reset_mail(self, user, email: str, context: dict) -> None:
        """No password for accounts that sign in through the identity provider.

        A local password would keep such a user signing in after the organization removed
        them from its provider; the same page still says "mail sent", as for an unknown
        address, so the form tells nobody which accounts exist.
        """
        if not user.has_usable_password() and user.socialaccount_set.exists():
            return
        super().send_password_reset_mail(user, email, context)

    def populate_username(self, request: HttpRequest, user) -> None:
        """A new account's username when the form gave none, or the identity provider gave
        one (allauth takes a provider's name as valid): never a look-alike of an existing
        user nor an invisible character, and never a failed sign-in for want of a free
        name (``usernames.safe_username``)."""
        from allauth.account.utils import user_email, user_field, user_username

        email = user_email(user) or ""
        candidates = [
            user_username(user),  # the form's (checked already) or the provider's
            email.split("@")[0],
            user_field(user, "first_name"),
            user_field(user, "last_name"),
        ]
        user_username(user, usernames.safe_username(candidates=candidates))


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """OpenID Connect sign-in: new users are created on first sign-in from allowed domains."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin) -> bool:
        return settings.OIDC_ENABLED

    def pre_social_login(self, request: HttpRequest, sociallogin) -> None:
        emails = [a.email for a in sociallogin.email_addresses] or [sociallogin.user.email]
        email = next((e for e in emails if e), "")
        allowed = settings.OIDC_ALLOWED_EMAIL_DOMAINS
        if not email_domain_allowed(email=email, allowed=allowed):
            response = render(
                request,
                "account/refused.html",
                {
                    "reason": (
                        f"The identity provider signed you in as “{email or 'no e-mail'}”, "
                        "but this site accepts only addresses at "
                        + ", ".join(f"@{d}" for d in allowed)
                        + ". No account was created."
                    )
                },
                status=403,
            )
            raise ImmediateHttpResponse(response)
