from django.apps import AppConfig

from algorithms import receivers
from challenges import hooks
from challenges.stored_files import forget_on_delete
from jobs import registry
from jobs.celery import when_app_made


class AlgorithmsConfig(AppConfig):
    name = "algorithms"
    label = "algorithms"
    verbose_name = "Algorithms"

    def ready(self) -> None:
        """Add the baseline's part to the task owner's page, which lives in scoring, a layer
        below (arrows point down: scoring never names this app), and make a run follow its
        submission's final status (``hooks.SubmissionFinished``)."""
        from algorithms.job_types import RUN_TYPES
        from algorithms.models import AlgorithmRun, BaselineRun
        from algorithms.owner_page import BASELINE_SECTION
        from challenges.upload_budget import team_storage_register
        from scoring.owner_sections import owner_section_register

        registry.register(*RUN_TYPES.values())
        # A worker's start sweeps what a killed run left (Celery's signals: a worker makes
        # the Celery app before Django's start; a process that publishes nothing never).
        when_app_made(callback=_connect_worker_signals)
        when_app_made(callback=_load_lost_decisions)

        owner_section_register(section=BASELINE_SECTION)
        hooks.subscribe(event=hooks.SubmissionFinished, receiver=receivers.follow_submission)
        # The living benchmark: every benchmark version re-runs on a new task or data version.
        hooks.subscribe(event=hooks.TaskAdded, receiver=receivers.rerun_benchmark_on_arrival)
        hooks.subscribe(event=hooks.TaskDataChanged, receiver=receivers.rerun_benchmark_on_new_data)
        # A team's archives count against its storage quota, with its prediction files.
        team_storage_register(label="algorithm archives", rows=_team_archive_files)
        # A deleted archive, run (the baseline's view of runs too) takes its files with it.
        forget_on_delete(model="algorithms.AlgorithmVersion")
        forget_on_delete(model=AlgorithmRun, files=AlgorithmRun.stored_files)
        forget_on_delete(model=BaselineRun, files=AlgorithmRun.stored_files)

        # ... and the AutoGluon baseline runs by itself on a task that arrives (and on its new
        # data versions), as soon as it is imported.
        hooks.subscribe(event=hooks.TaskAdded, receiver=receivers.queue_baseline_on_arrival)
        hooks.subscribe(event=hooks.TaskDataChanged, receiver=receivers.queue_baseline_on_new_data)


def _team_archive_files(*, team_pk: int) -> list:
    from algorithms.selectors import team_archive_files

    return team_archive_files(team_pk=team_pk)


def _connect_worker_signals(app: object) -> None:
    from celery.signals import worker_process_init, worker_process_shutdown, worker_ready

    from algorithms.sandbox import spare
    from algorithms.services.staging import staging_sweep_on_worker_start

    worker_ready.connect(staging_sweep_on_worker_start, weak=False)
    # A pool process keeps its next run's sandbox start ready between runs (spare's module).
    worker_process_init.connect(spare.keep_in_pool_process, weak=False)
    worker_process_shutdown.connect(spare.discard_spare, weak=False)


def _load_lost_decisions(app: object) -> None:
    """What a dead worker's runs become is decided by the runs' service, registered as it
    is imported (``jobs.holders.when_holder_lost``); a worker's liveness asks it. Imported
    where the Celery app is made (a worker makes it first), not in every process."""
    from algorithms.services import runs  # noqa: F401
