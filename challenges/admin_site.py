"""The organizer console's admin site (Django's admin, installed as the default site by
``ConsoleAdminConfig`` in ``INSTALLED_APPS``, Django's documented way, so ``admin.site`` and
every ``admin:`` URL stay what they were), with two differences:

- its "change password" page saves through ``accounts.services`` (a new password revokes the
  account's API tokens);
- its models are registered when it is first used. Django's ``AdminConfig`` imports every
  app's ``admin`` module at start-up, and those import the apps' services (the bundle
  import, scoring, the algorithm runner, the standings...): about a tenth of every process's
  start. A process that never serves the console (a user's ``manage.py score_file`` or
  ``import_task``, a Celery worker) has no use for them. Here the app config registers the
  admin's checks without that import, and the site imports the ``admin`` modules the first
  time anything asks for its models (``_registry``): the URL configuration does when it is
  loaded (``admin.site.urls``), so the console is complete before its first page, and so
  does anything else that reads the registry.
"""

from __future__ import annotations

import threading
from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig, SimpleAdminConfig
from django.http import HttpRequest, HttpResponse
from django.urls import reverse


class ConsoleAdminSite(admin.AdminSite):
    """``admin.site``: its ``admin`` modules imported on the first look at its models, its
    password change revoking API tokens."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._discovered = False
        self._discovering = threading.RLock()
        self._registering = 0
        super().__init__(*args, **kwargs)

    @property
    def _registry(self) -> dict:  # type: ignore[override]
        # A registration (an admin module being imported) writes without discovering: an
        # admin module imported before the site was used would otherwise start the discovery
        # half-imported, and the modules that import it would find it incomplete.
        if not self._discovered and not self._registering:
            with self._discovering:
                if not self._discovered:
                    self._discovered = True  # autodiscover registers through this property
                    admin.autodiscover()
        return self._models

    @_registry.setter
    def _registry(self, value: dict) -> None:
        self._models = value

    @property
    def urls(self) -> tuple[list, str, str]:
        """The site's URLs, once its ``admin`` modules are in: one of them may add its own
        pages (the health panel of ``operations.admin``)."""
        self._registry  # noqa: B018 - discovery, for its side effects
        return super().urls

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        self._registering += 1
        try:
            super().register(model_or_iterable, admin_class, **options)
        finally:
            self._registering -= 1

    def password_change(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """Django's own page (its template, its checks), with the form that revokes the
        account's API tokens."""
        from django.contrib.auth.views import PasswordChangeView  # models: not at app loading

        from challenges.accounts.forms import AccountPasswordChangeForm

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
    """``django.contrib.admin`` (label ``admin``), with :class:`ConsoleAdminSite` as the
    default site and no import of the ``admin`` modules at start-up (the site does it when
    used)."""

    default_site = "challenges.admin_site.ConsoleAdminSite"

    def ready(self) -> None:
        SimpleAdminConfig.ready(self)  # the admin's system checks, without autodiscover()
