"""The project package (the design card's ``platform/``; docs/developers/layout.md says why).

``celery_app`` is the Celery app, defined by the job lifecycle (:mod:`jobs.celery`) and made
on first use, so that a command that publishes nothing starts without Celery;
``celery -A challenge_platform`` finds it through :mod:`challenge_platform.celery`."""

from typing import Any

__all__ = ["celery_app"]


def __getattr__(name: str) -> Any:
    if name == "celery_app":
        from jobs.celery import celery_app

        return celery_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
