from django.apps import AppConfig


class StandingsConfig(AppConfig):
    name = "standings"
    verbose_name = "Final standings and write-ups"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from challenge_platform.stored_files import forget_on_delete
        from standings import tasks  # noqa: F401 - registers its Celery tasks in every process

        forget_on_delete("standings.MethodWriteup")  # a deleted write-up takes its PDF
