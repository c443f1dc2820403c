"""The login page: Django's password form, plus the identity provider's button and sign-up."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import reverse


class LoginView(auth_views.LoginView):
    """``/accounts/login/``: username and password (demo and console accounts), and links to
    OpenID Connect sign-in and local sign-up when they are switched on (settings/base.py).

    ``next`` is followed only within this site (Django's ``url_has_allowed_host_and_scheme``).
    """

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["signup_enabled"] = settings.LOCAL_SIGNUP_ENABLED
        context["oidc_enabled"] = settings.OIDC_ENABLED
        context["oidc_button_label"] = settings.OIDC_BUTTON_LABEL
        if settings.OIDC_ENABLED:
            context["oidc_login_url"] = reverse(
                "openid_connect_login", kwargs={"provider_id": settings.OIDC_PROVIDER_ID}
            )
        return context
