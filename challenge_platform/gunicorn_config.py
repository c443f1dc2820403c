"""gunicorn's hooks, loaded with ``--config python:challenge_platform.gunicorn_config``.

Hooks only: the flags stay in the Procfile, the one place a process is defined.
"""

from __future__ import annotations

import hashlib
import os
import re

from django.conf import settings
from django.utils.module_loading import import_string
from gunicorn.arbiter import Arbiter
from gunicorn.config import Config

from runtime.cpu_priority import lower, web_nice


def on_starting(server: Arbiter) -> None:
    """In the master, before the workers are forked (they inherit it): the web's CPU
    priority, below the scoring workers' (``WEB_CPU_NICE``); and a control socket of this
    instance's own."""
    lower(web_nice())
    server.cfg.set("control_socket", control_socket_for(server.cfg))


def control_socket_for(cfg: Config) -> str:
    """gunicorn's control socket (``gunicornc``) for this instance: one named by the
    addresses it listens on, beside gunicorn's default, unless one was given
    (``--control-socket``). gunicorn's default is one path per user, so two instances on a
    host (``web`` and ``boards``, two installs) would take each other's."""
    given = cfg.control_socket
    default = cfg.settings["control_socket"].default
    if given != default:
        return given
    name = re.sub(r"[^A-Za-z0-9.]+", "-", "_".join(cfg.bind)).strip("-")
    if len(name) > 48:  # a Unix socket's path is short (108 bytes)
        name = hashlib.sha256(name.encode()).hexdigest()[:16]
    return os.path.join(os.path.dirname(default), f"gunicorn-{name}.ctl")


def post_worker_init(worker: object) -> None:
    """In each worker, once it loaded the application: the URL configuration, with every
    view and allauth's provider registry (``challenges/accounts/apps.py``), loaded
    before the first request instead of by it (a worker restarted by ``--max-requests``
    would otherwise make one request wait a quarter of a second)."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - loading it is the point
    # And what the boards' computations import on their first run (named in the settings,
    # like WSGI_MIDDLEWARE: this core names no app): a board read after a score in a new
    # worker would wait for it (leaderboard/cache/prerender.py).
    for name in settings.SERVER_PRELOAD:
        import_string(name)()
