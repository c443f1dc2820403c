"""The algorithm runs' job types on the one lifecycle (docs/architecture.md, "The job
lifecycle"), registered in ``AlgorithmsConfig.ready()``: one per Celery task that runs runs,
whose rows are the runs of the profiles that task serves (``RunProfile.task_name``,
:mod:`algorithms.services.profiles`): a team's, an organizer's, a re-run, a reproduction and
a stress run on the ``algorithms`` queue; the AutoGluon baseline's and its stress runs on
the ``baselines`` queue.

Here, apart from the profiles, so that every process knows the types without importing what
runs them: a type's rules (a run's attempts, the runs a worker may take now, their order,
the type's own rows) ask the profiles and the dispatch, which they import when first asked
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Registered at start,
imported when called")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from algorithms import task_names
from algorithms.models import FINAL, AlgorithmRun, AlgorithmRunStatus
from jobs.registry import JobType

if TYPE_CHECKING:
    from algorithms.services.profiles import RunProfile


def _served(task_name: str) -> tuple[RunProfile, ...]:
    """The profiles whose runs ``task_name`` runs (its group)."""
    from algorithms.services.profiles import served_by

    return served_by(task_name=task_name)


def _run_attempts(run: AlgorithmRun) -> int:
    """Claims ``run`` may have: its own profile's (a type serves several profiles)."""
    from algorithms.services.profiles import profile_of

    return profile_of(run=run).max_attempts()


def _claimable(task_name: str) -> Q:
    from algorithms.services.profiles import eligible_runs

    return eligible_runs(served=list(_served(task_name)))


def _in_claim_order(rows: QuerySet[AlgorithmRun]) -> QuerySet[AlgorithmRun]:
    from algorithms.services.dispatch import in_claim_order

    return in_claim_order(rows=rows)


def _run_type(task_name: str, *, label: str) -> JobType:
    return JobType(
        model=AlgorithmRun,
        task_name=task_name,
        pk_kwarg="run_pk",
        queued=AlgorithmRunStatus.QUEUED,
        running=AlgorithmRunStatus.RUNNING,
        final=FINAL,
        failed=AlgorithmRunStatus.FAILED,
        max_attempts=_run_attempts,
        label=label,
        doorbell=True,  # a message claims the best queued run (algorithms.services.dispatch)
        scheduled=True,  # so a retry waits out its backoff on the row (jobs.registry)
        claimable=lambda: _claimable(task_name),
        kind_field="profile",
        scope=lambda: Q(profile__in=[profile.name for profile in _served(task_name)]),
        claim_order=_in_claim_order,
    )


# One job type per Celery task that runs runs, by its task.
RUN_TYPES: dict[str, JobType] = {
    task_names.RUN_ALGORITHM: _run_type(task_names.RUN_ALGORITHM, label="algorithm run"),
    task_names.RUN_BASELINE: _run_type(task_names.RUN_BASELINE, label="baseline run"),
}
