"""The job lifecycle: the Celery app, job types, claims, retries, sweeps, worker liveness and
the republishing of lost messages (docs/architecture.md, "The job lifecycle").

Below every app that runs jobs (scoring, algorithms, notifications), above ``kinds`` and
``common``; inside it the modules point one way: ``celery`` < ``registry`` < ``liveness``
< ``holders`` < ``lifecycle`` < ``cancel``, ``broker`` < ``republish`` < ``worker``, ``tasks``.
"""
