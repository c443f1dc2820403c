"""Job types: what the lifecycle needs to know of one kind of job, and their registry.

A job type is a model deriving from :class:`jobs.models.Job` (the fields), its Celery task
(how a delivery runs it: the task's name, its keyword for the row's pk), and the statuses
that matter. Each app registers its types explicitly when it starts
(``AppConfig.ready()`` calls :func:`register`), so every process knows every type and task
without importing anything by name (docs/architecture.md, "The job lifecycle")::

    SCORING = JobType(
        model=Submission, task_name="scoring.tasks.score_submission",
        pk_kwarg="submission_pk", queued="queued", running="scoring",
        final=("scored", "failed"), failed="failed",
        max_attempts=lambda: settings.SCORING_MAX_ATTEMPTS,
    )
    registry.register(SCORING)   # in ScoringConfig.ready()
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Q

# The fields of jobs.models.Job, by what the lifecycle does with them.
STATUS = "status"
CHANGED = "status_changed_at"
CLAIM = "claim_token"
ATTEMPTS = "attempts"
STARTED = "started_at"
FINISHED = "finished_at"
DUE = "due_at"


@dataclass(frozen=True)
class JobType:
    """How one model plays the job lifecycle (its task and the states that matter)."""

    model: type[models.Model]  # derives from jobs.models.Job
    task_name: str  # the Celery task that does the work, e.g. "scoring.tasks.score_submission"
    pk_kwarg: str  # the task's keyword argument for the row's pk, e.g. "submission_pk"
    queued: str
    running: str
    final: Sequence[str]
    failed: str
    max_attempts: Callable[[], int] | None = None  # read lazily: settings may change in tests
    # Seconds to wait before the next try after the n-th (read lazily); default retry_countdown.
    backoff: Callable[[int], float] | None = None
    label: str = "job"
    # Whether a retry's time is kept on the row (``due_at``), so that no message claims it
    # earlier; otherwise the retry's message carries the wait (a countdown) alone.
    scheduled: bool = False
    # A doorbell type: a message claims the *best* queued row of the type (whichever pk it
    # names), so what matters is that there are as many messages as claimable rows. It must
    # be ``scheduled``: any other row's message would claim a retry before its backoff.
    doorbell: bool = False
    # The queued rows a message may claim now (e.g. while a compute budget is open); None:
    # every queued, due row. Asked when lost messages are published again.
    claimable: Callable[[], Q] | None = None
    # The text field a failure's reason goes to when the lifecycle itself ends a job (it was
    # published again too often without starting: jobs.republish).
    error_field: str = "error"
    # A field naming the kind of job within the type (an algorithm run's profile), shown by
    # jobs.health; None: the type's label says it.
    kind_field: str | None = None
    # The queued rows in the order claims take them (a doorbell type's priority classes and
    # shares), for jobs.health's bounds; None: oldest first.
    claim_order: Callable[[models.QuerySet], models.QuerySet] | None = None
    # The type's own rows where several types share one model (the algorithm runs' types
    # each run some profiles: a baseline run is not an algorithms-queue job); None: every
    # row of the model. Every read of the type's rows (sweeps, republishing, its limit,
    # jobs.health) goes through :meth:`filter`, which applies it.
    scope: Callable[[], Q] | None = None

    def __post_init__(self) -> None:
        if self.doorbell and not self.scheduled:
            raise ValueError(
                f"{self.task_name}: a doorbell type must be scheduled (any message claims the"
                " best queued row, so only the row's due_at holds a retry back)"
            )

    @property
    def key(self) -> str:
        """The type's name in claim rows: its Celery task (``scoring.tasks.score_submission``),
        which says how the job runs and where it is published again."""
        return self.task_name

    def filter(self, **lookups: Any) -> models.QuerySet:
        rows = self.model._default_manager.filter(**lookups)
        return rows.filter(self.scope()) if self.scope is not None else rows


_TYPES: dict[str, JobType] = {}


def register(*job_types: JobType) -> None:
    """Make ``job_types`` known to the lifecycle in this process (each app's ``ready()``).
    Registering the same type again is harmless; another type under a taken key is an error
    (two definitions of one task's jobs)."""
    for job_type in job_types:
        known = _TYPES.setdefault(job_type.key, job_type)
        if known != job_type:
            raise ValueError(f"another job type is registered for {job_type.key}")


def registered() -> list[JobType]:
    """Every registered job type, by task name."""
    return [_TYPES[key] for key in sorted(_TYPES)]


def job_type_named(*, key: str) -> JobType | None:
    """The registered type whose task is ``key``, if any."""
    return _TYPES.get(key)
