from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Submissions and scoring"

    def ready(self) -> None:
        from challenge_platform import hooks
        from scoring.services import reference_builds
        from scoring.services.task_data import task_data_changed

        hooks.subscribe(hooks.TaskDataChanged, task_data_changed)
        # A task that arrives gets its trivial baseline built by a worker (benchmarked on
        # arrival, with the AutoGluon baseline the algorithms app queues).
        hooks.subscribe(hooks.TaskAdded, reference_builds.on_task_added)
        hooks.subscribe(hooks.TaskDataChanged, reference_builds.on_task_data_changed)
