"""The rows of the job lifecycle: the fields every job has, and who holds a running one.

- :class:`Job` is the abstract model a job's own model derives from (a submission to score,
  an algorithm run, a webhook delivery, a mail): the lifecycle reads and writes these
  fields by their names here, so a job type names no field (docs/architecture.md, "The
  job lifecycle"). Each model declares its own ``status`` with its own choices.
- :class:`JobClaim` records which worker holds a running job, one table for every type.
- :class:`JobRepublished` counts how often a queued job was published again without
  starting, one table for every type (:mod:`jobs.republish` fails it past a bound).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Job(models.Model):
    """What the lifecycle needs of a job's row (the model adds ``status`` and its own data).

    - ``status_changed_at``: when the status last changed (the sweeps' clock);
    - ``claim_token``: the delivery that holds the row while it runs ("" otherwise);
    - ``attempts``: claims so far (bounded by the job type's ``max_attempts``);
    - ``started_at`` / ``finished_at``: the last claim, and the end of the job;
    - ``due_at``: not to be claimed before (a retry's backoff); null: at once.
    """

    status_changed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=64, blank=True, editable=False)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class JobClaim(models.Model):
    """Which worker holds a running job (any job type of :mod:`jobs.registry`).

    Written in the claim's transaction by a worker process (``holder`` names the Celery
    worker and its boot, :mod:`jobs.liveness`); removed when the job leaves its running
    state. When the job is taken from its holder instead (the holder stopped beating,
    restarted, or the row went stale) the row stays as the record of why: ``lost_at`` and
    ``lost_reason``. One table for every type, so a new job type needs no field of its own.
    """

    job_type = models.CharField(max_length=100)  # the type's task, "scoring.tasks.score_..."
    object_id = models.BigIntegerField()
    token = models.CharField(max_length=64)  # the delivery that claimed it
    holder = models.CharField(max_length=255, db_index=True)
    claimed_at = models.DateTimeField()
    lost_at = models.DateTimeField(null=True, blank=True)
    lost_reason = models.TextField(blank=True)
    # Its worker was asked to stop (the platform's own stop, not a crash) while holding the
    # job: whatever is taken back from it gets the attempt back (jobs.stopping).
    stopping_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-claimed_at", "-id"]
        constraints = [
            # One live claim per job: only one delivery can hold a running job.
            models.UniqueConstraint(
                fields=["job_type", "object_id"],
                condition=Q(lost_at__isnull=True),
                name="job_claim_one_live_per_job",
            ),
        ]

    def __str__(self) -> str:
        state = f"lost {self.lost_at:%Y-%m-%d %H:%M:%S}" if self.lost_at else "held"
        return f"{self.job_type} {self.object_id} by {self.holder} ({state})"


class JobRepublished(models.Model):
    """How many times :mod:`jobs.republish` published a queued job again since it last
    changed state (any type of :mod:`jobs.registry`): its message was lost, or a worker took
    it and did not start the job. Past ``JOB_REPUBLISH_LIMIT`` the job is failed, saying so.

    A row counts from ``first_at``: once the job's status changed after that (it started,
    was re-queued or ended) the count is stale and starts again; rows of jobs no longer
    queued are removed by the next look.
    """

    job_type = models.CharField(max_length=100)  # the type's task, as in JobClaim
    object_id = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job_type", "object_id"], name="job_republished_one_per_job"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job_type} {self.object_id} published again {self.count} times"
