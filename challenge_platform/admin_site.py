"""The organizer console's admin site, whose models are registered when it is first used.

Django's ``AdminConfig`` imports every app's ``admin`` module at start-up, and those import
the apps' services (the bundle import, scoring, the algorithm runner, the standings...):
about a tenth of every process's start. A process that never serves the console (a user's
``manage.py score_file`` or ``import_task``, a Celery worker) has no use for them. Here the
app config registers the admin's checks without that import, and the site imports the
``admin`` modules the first time anything asks for its models (``_registry``): the URL
configuration does when it is loaded (``admin.site.urls``), so the console is complete
before its first page, and so does anything else that reads the registry.
"""

from __future__ import annotations

import threading
from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig, SimpleAdminConfig


class ConsoleSite(admin.AdminSite):
    """``admin.site``: its ``admin`` modules imported on the first look at its models."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._discovered = False
        self._discovering = threading.RLock()
        super().__init__(*args, **kwargs)

    @property
    def _registry(self) -> dict:  # type: ignore[override]
        if not self._discovered:
            with self._discovering:
                if not self._discovered:
                    self._discovered = True  # autodiscover registers through this property
                    admin.autodiscover()
        return self._models

    @_registry.setter
    def _registry(self, value: dict) -> None:
        self._models = value


class ConsoleAdminConfig(AdminConfig):
    """``django.contrib.admin`` (label ``admin``), with :class:`ConsoleSite` as the default
    site and no import of the ``admin`` modules at start-up (the site does it when used)."""

    default_site = "challenge_platform.admin_site.ConsoleSite"

    def ready(self) -> None:
        SimpleAdminConfig.ready(self)  # the admin's system checks, without autodiscover()
