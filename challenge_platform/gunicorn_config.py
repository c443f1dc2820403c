"""gunicorn's hooks, loaded with ``--config python:challenge_platform.gunicorn_config``.

Hooks only: the flags stay in the Procfile, the one place a process is defined.
"""

from __future__ import annotations

from gunicorn.arbiter import Arbiter

from runtime.cpu_priority import lower, web_nice


def on_starting(server: Arbiter) -> None:
    """In the master, before the workers are forked (they inherit it): the web's CPU
    priority, below the scoring workers' (``WEB_CPU_NICE``)."""
    lower(web_nice())


def post_worker_init(worker: object) -> None:
    """In each worker, once it loaded the application: the URL configuration, with every
    view and allauth's provider registry (``challenges/accounts/apps.py``), loaded
    before the first request instead of by it (a worker restarted by ``--max-requests``
    would otherwise make one request wait a quarter of a second)."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - loading it is the point
