from django.apps import AppConfig

from jobs.celery import when_app_made


class JobsConfig(AppConfig):
    name = "jobs"
    label = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        # A worker's liveness: receivers of Celery's worker signals (sent only in workers,
        # which make the Celery app before Django's start; elsewhere, when it is made).
        when_app_made(callback=_connect_worker_signals)


def _connect_worker_signals(app: object) -> None:
    from jobs import worker

    worker.connect_signals()
