from django.apps import AppConfig


class StandingsConfig(AppConfig):
    name = "standings"
    verbose_name = "Final standings and write-ups"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from standings import tasks  # noqa: F401 - registers its Celery tasks in every process
