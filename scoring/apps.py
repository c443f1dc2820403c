from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Submissions and scoring"

    def ready(self) -> None:
        from challenge_platform import hooks
        from challenge_platform.upload_budget import team_storage_register
        from jobs import registry
        from scoring import tasks  # noqa: F401 - registers its Celery tasks in every process
        from scoring.selectors import team_uploaded_files
        from scoring.services.lifecycle import SCORING
        from scoring.services.task_data import task_data_changed

        registry.register(SCORING)

        hooks.subscribe(hooks.TaskDataChanged, task_data_changed)
        team_storage_register("prediction files", team_uploaded_files)
