from django.apps import AppConfig


class AlgorithmsConfig(AppConfig):
    name = "algorithms"
    label = "algorithms"
    verbose_name = "Algorithms"

    def ready(self) -> None:
        """Add the baseline's part to the task owner's page, which lives in scoring, a layer
        below (arrows point down: scoring never names this app), and make a run follow its
        submission's final status (``hooks.SubmissionFinished``)."""
        from algorithms import tasks  # noqa: F401 - registers its Celery tasks in every process
        from algorithms.owner_page import BASELINE_SECTION
        from algorithms.services.follow import run_follow_submission
        from algorithms.services.profiles import RUN_TYPES
        from challenge_platform import hooks
        from jobs import registry
        from scoring.owner_sections import owner_section_register

        registry.register(*RUN_TYPES.values())

        owner_section_register(BASELINE_SECTION)
        hooks.subscribe(hooks.SubmissionFinished, run_follow_submission)
        # The living benchmark: every benchmark version re-runs on a new task or data version.
        from algorithms.services.benchmark import on_task_added, on_task_data_changed

        hooks.subscribe(hooks.TaskAdded, on_task_added)
        hooks.subscribe(hooks.TaskDataChanged, on_task_data_changed)
        # A team's archives count against its storage quota, with its prediction files.
        from algorithms.selectors import team_archive_files
        from challenge_platform.upload_budget import team_storage_register

        team_storage_register("algorithm archives", team_archive_files)

        # ... and the AutoGluon baseline runs by itself on a task that arrives (and on its new
        # data versions), as soon as it is imported.
        from algorithms.services.baseline import baseline_on_arrival

        hooks.subscribe(hooks.TaskAdded, baseline_on_arrival)
        hooks.subscribe(hooks.TaskDataChanged, baseline_on_arrival)
