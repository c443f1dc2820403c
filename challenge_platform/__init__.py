"""The project package (the design card's ``platform/``; see README for why it is renamed)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
