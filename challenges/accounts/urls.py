"""The allauth pages this site uses, and no others (each is a row of the authorization matrix).

Mounted under ``/accounts/`` after the site's own login and logout. Left out on purpose:
e-mail and password management pages, login by code, passkeys, account connections.
"""

from __future__ import annotations

from allauth.account import views as account
from allauth.socialaccount import views as social
from allauth.socialaccount.providers import registry
from django.urls import include, path, re_path

# allauth's provider registry, which its views and template tags read: loaded here, before
# any request reaches them, rather than at every process's start
# (challenges.accounts.apps.SocialAccountsConfig).
registry.load()

urlpatterns = [
    path("signup/", account.signup, name="account_signup"),
    path("inactive/", account.account_inactive, name="account_inactive"),
    path("confirm-email/", account.email_verification_sent, name="account_email_verification_sent"),
    re_path(
        r"^confirm-email/(?P<key>[-:\w]+)/$", account.confirm_email, name="account_confirm_email"
    ),
    path("password/reset/", account.password_reset, name="account_reset_password"),
    path("password/reset/done/", account.password_reset_done, name="account_reset_password_done"),
    re_path(
        r"^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
        account.password_reset_from_key,
        name="account_reset_password_from_key",
    ),
    path(
        "password/reset/key/done/",
        account.password_reset_from_key_done,
        name="account_reset_password_from_key_done",
    ),
    path("social/login/cancelled/", social.login_cancelled, name="socialaccount_login_cancelled"),
    path("social/login/error/", social.login_error, name="socialaccount_login_error"),
    path("social/signup/", social.signup, name="socialaccount_signup"),
    # /accounts/oidc/<provider_id>/login/ and .../login/callback/
    path("", include("allauth.socialaccount.providers.openid_connect.urls")),
]
