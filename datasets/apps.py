from django.apps import AppConfig

from challenges.stored_files import forget_on_delete
from jobs import registry
from jobs.celery import when_app_made


class DatasetsConfig(AppConfig):
    name = "datasets"
    verbose_name = "Tasks and datasets"

    def ready(self) -> None:
        from challenges import hooks
        from challenges.upload_budget import team_storage_register
        from datasets import receivers
        from datasets.job_types import VERSION_CHECK
        from datasets.models import Task

        registry.register(VERSION_CHECK)
        # A phase's own test set becomes the task's data at the phase's start.
        hooks.subscribe(
            event=hooks.ChallengePhasesChanged, receiver=receivers.release_on_phase_start
        )
        when_app_made(callback=_load_lost_decisions)
        # A deleted task takes its files with it: every data version's, the solution's key
        # tables (the rows deleted with it take theirs: each app connects its own), and the
        # bundles its uploads left waiting.
        forget_on_delete(model=Task, files=Task.stored_files)
        forget_on_delete(model="datasets.TaskVersionUpload")
        # The data versions a task's owners upload count against their team's storage quota.
        team_storage_register(label="task data versions", rows=_team_task_data)


def _team_task_data(*, team_pk: int) -> list:
    from datasets.version_uploads import team_task_data

    return team_task_data(team_pk=team_pk)


def _load_lost_decisions(app: object) -> None:
    """What a dead worker's data version checks become is decided by their service,
    registered as it is imported (``jobs.holders.when_holder_lost``); a worker's liveness
    asks it. Imported where the Celery app is made (a worker makes it first)."""
    from datasets import version_uploads  # noqa: F401
