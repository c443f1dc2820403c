"""The organizer console's site: Django's admin site, whose "change password" page saves
through ``accounts.services`` (issue 39: a new password revokes the account's API tokens).

Installed as the default admin site (``ConsoleAdminConfig`` in ``INSTALLED_APPS``, Django's
documented way), so ``admin.site`` and every ``admin:`` URL stay what they were.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse
from django.urls import reverse


class ConsoleAdminSite(admin.AdminSite):
    def password_change(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """Django's own page (its template, its checks), with the form that revokes the
        account's API tokens."""
        from django.contrib.auth.views import PasswordChangeView  # models: not at app loading

        from challenge_platform.accounts.forms import AccountPasswordChangeForm

        view = PasswordChangeView.as_view(
            form_class=AccountPasswordChangeForm,
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
            **(
                {"template_name": self.password_change_template}
                if self.password_change_template is not None
                else {}
            ),
        )
        request.current_app = self.name
        return view(request)


class ConsoleAdminConfig(AdminConfig):
    default_site = "challenge_platform.admin_site.ConsoleAdminSite"
