"""The project package (the design card's ``platform/``; docs/developers/layout.md says why).

The Celery app is defined by the job lifecycle (:mod:`jobs.celery`) and made on first use, so
that a command that publishes nothing starts without Celery; ``celery -A challenge_platform``
finds it through :mod:`challenge_platform.celery`."""
