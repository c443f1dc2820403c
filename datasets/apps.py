from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "datasets"
    verbose_name = "Tasks and datasets"

    def ready(self) -> None:
        from challenge_platform.stored_files import forget_on_delete
        from datasets.models import Task

        # A deleted task takes its files with it: every data version's, the solution's key
        # tables (the rows deleted with it take theirs: each app connects its own)
        forget_on_delete(Task, Task.stored_files)
