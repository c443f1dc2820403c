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
        from scoring.services import reference_builds
        from scoring.services.lifecycle import SCORING
        from scoring.services.task_data import task_data_changed

        registry.register(SCORING, reference_builds.TRIVIAL_BUILD)

        hooks.subscribe(hooks.TaskDataChanged, task_data_changed)
        team_storage_register("prediction files", team_uploaded_files)

        # A task that arrives gets its trivial baseline built by a worker (benchmarked on
        # arrival, with the AutoGluon baseline the algorithms app queues).
        hooks.subscribe(hooks.TaskAdded, reference_builds.on_task_added)
        hooks.subscribe(hooks.TaskDataChanged, reference_builds.on_task_data_changed)
