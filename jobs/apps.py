from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    label = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        from jobs import tasks, worker  # noqa: F401 - registers the lifecycle's beat task

        # A worker's liveness: receivers of Celery's worker signals (sent only in workers).
        worker.connect_signals()
