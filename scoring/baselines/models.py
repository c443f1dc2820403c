"""A BaselineRun is one AutoGluon fit on one task, and the baseline submission it produced."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from datasets.models import private_storage

# Bytes of fit.log kept on the row (the whole log is saved as an artifact at the end).
LOG_TAIL_BYTES = 4096


def artifact_path(instance: BaselineRun, filename: str) -> str:
    return f"baselines/{instance.task.slug}/run-{instance.pk}/{filename}"


class BaselineRunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out", "Timed out"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (BaselineRunStatus.QUEUED, BaselineRunStatus.RUNNING)
FINAL_STATUSES = (
    BaselineRunStatus.SUCCEEDED,
    BaselineRunStatus.FAILED,
    BaselineRunStatus.TIMED_OUT,
    BaselineRunStatus.CANCELLED,
)


class BaselineRun(models.Model):
    task = models.ForeignKey(
        "datasets.Task", on_delete=models.CASCADE, related_name="baseline_runs"
    )
    status = models.CharField(
        max_length=16,
        choices=BaselineRunStatus.choices,
        default=BaselineRunStatus.QUEUED,
        db_index=True,
    )
    presets = models.CharField(max_length=40)
    time_limit = models.PositiveIntegerField(help_text="AutoGluon's fit budget, seconds.")
    hard_timeout = models.PositiveIntegerField(
        help_text="Wall-clock bound of the whole run (imports, features, fit, predict), seconds."
    )

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written every few seconds while running; the sweeper fails a run whose worker went quiet.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    elapsed = models.FloatField(
        null=True, blank=True, help_text="Seconds the AutoGluon runner process ran."
    )
    message = models.TextField(blank=True)
    log_tail = models.TextField(blank=True, help_text="The last few KB of fit.log.")

    # Which Celery delivery holds the run while it is running (Celery's task id, stable across
    # redeliveries): a redelivered message finds its own id here and knows its worker died.
    delivery_id = models.CharField(max_length=64, blank=True, editable=False)
    worker_hostname = models.CharField(max_length=255, blank=True)
    worker_pid = models.IntegerField(null=True, blank=True)
    runner_pid = models.IntegerField(
        null=True, blank=True, help_text="The AutoGluon process (leader of its process group)."
    )
    cancel_requested = models.BooleanField(default=False)

    submission = models.ForeignKey(
        "scoring.Submission",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="baseline_runs",
    )
    # Organizers only: private storage, streamed through the admin console.
    leaderboard_csv = models.FileField(
        upload_to=artifact_path, storage=private_storage, max_length=300, blank=True
    )
    fit_log = models.FileField(
        upload_to=artifact_path, storage=private_storage, max_length=300, blank=True
    )
    result = models.JSONField(default=dict, blank=True, help_text="The runner's result.json")
    validation_score = models.FloatField(null=True, blank=True)
    best_model = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "status_changed_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["task"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_baseline_run_per_task",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[choice.value for choice in BaselineRunStatus]),
                name="baseline_run_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(time_limit__gte=1) & Q(hard_timeout__gt=models.F("time_limit")),
                name="baseline_run_limits_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"baseline run #{self.pk} on {self.task}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES
