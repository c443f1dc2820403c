from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Submissions and scoring"

    def ready(self) -> None:
        from challenge_platform import hooks
        from scoring.services.task_data import task_data_changed

        hooks.subscribe(hooks.TaskDataChanged, task_data_changed)
