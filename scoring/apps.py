from django.apps import AppConfig

from challenges import hooks
from challenges.stored_files import forget_on_delete
from jobs import registry
from jobs.celery import when_app_made
from scoring import receivers


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Submissions and scoring"

    def ready(self) -> None:
        from challenges.upload_budget import team_storage_register
        from scoring.job_types import SCORING, TRIVIAL_BUILD
        from scoring.selectors import team_reference_files, team_uploaded_files

        registry.register(SCORING, TRIVIAL_BUILD)
        when_app_made(callback=_load_lost_decisions)

        hooks.subscribe(event=hooks.TaskDataChanged, receiver=receivers.rescore_on_new_data)
        team_storage_register(label="prediction files", rows=team_uploaded_files)
        team_storage_register(label="reference files", rows=team_reference_files)

        # A task that arrives gets its trivial baseline built by a worker (benchmarked on
        # arrival, with the AutoGluon baseline the algorithms app queues).
        hooks.subscribe(event=hooks.TaskAdded, receiver=receivers.build_trivial_on_arrival)
        hooks.subscribe(event=hooks.TaskDataChanged, receiver=receivers.build_trivial_on_new_data)

        # A deleted submission or reference (each one of a deleted task's) takes its files.
        forget_on_delete(model="scoring.Submission")
        forget_on_delete(model="scoring.Reference")


def _load_lost_decisions(app: object) -> None:
    """What a dead worker's submissions and builds become is decided by the services that
    run them, registered as they are imported (``jobs.holders.when_holder_lost``); a
    worker's liveness asks it. Imported where the Celery app is made (a worker makes it
    first), not in every process."""
    from scoring.services import reference_builds, sweep  # noqa: F401
