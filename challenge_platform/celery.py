"""The project's Celery app, defined by the job lifecycle (:mod:`jobs.celery`, the lowest
module of the jobs app, so that the lifecycle below this package can publish through it)
and re-exported here: ``celery -A challenge_platform`` finds it."""

from jobs.celery import app

__all__ = ["app"]
