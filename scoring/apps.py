from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Submissions and scoring"

    def ready(self) -> None:
        from challenge_platform import hooks
        from challenge_platform.upload_budget import team_storage_register
        from jobs import registry
        from scoring import receivers, tasks  # noqa: F401 - tasks: registers its Celery tasks
        from scoring.selectors import team_uploaded_files
        from scoring.services import reference_builds
        from scoring.services.lifecycle import SCORING

        registry.register(SCORING, reference_builds.TRIVIAL_BUILD)

        hooks.subscribe(hooks.TaskDataChanged, receivers.rescore_on_new_data)
        team_storage_register("prediction files", team_uploaded_files)

        # A task that arrives gets its trivial baseline built by a worker (benchmarked on
        # arrival, with the AutoGluon baseline the algorithms app queues).
        hooks.subscribe(hooks.TaskAdded, receivers.build_trivial_on_arrival)
        hooks.subscribe(hooks.TaskDataChanged, receivers.build_trivial_on_new_data)
