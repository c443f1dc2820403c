"""The project package (the design card's ``platform/``; see README for why it is renamed).

It imports the Celery app (defined by the job lifecycle, :mod:`jobs.celery`) so that
``celery -A challenge_platform`` and every Django process load it first."""

from .celery import app as celery_app

__all__ = ["celery_app"]
