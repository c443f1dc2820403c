"""A Submission is one team's predictions for one task, and its scores."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from datasets.models import private_storage
from jobs.models import Job


def submission_path(instance: Submission, filename: str) -> str:
    return f"submissions/{instance.task.slug}/{instance.team_id}/{filename}"


class SubmissionStatus(models.TextChoices):
    QUEUED = "queued"
    SCORING = "scoring"
    SCORED = "scored"
    FAILED = "failed"


class Submission(Job):
    """One team's predictions for one task: a job of the lifecycle
    (``scoring.job_types.SCORING``) whose claim, attempts and times are
    :class:`jobs.models.Job`'s."""

    task = models.ForeignKey("datasets.Task", on_delete=models.CASCADE, related_name="submissions")
    team = models.ForeignKey(
        "challenges.Team", on_delete=models.CASCADE, related_name="submissions"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    # The phase open when it arrived (docs/decisions/0066-phases.md); null: after the last
    # phase's end (the post-challenge board). Never changed by a phase's later edits.
    phase = models.ForeignKey(
        "challenges.Phase",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="submissions",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    note = models.CharField(max_length=500, blank=True)
    file = models.FileField(upload_to=submission_path, storage=private_storage, max_length=300)
    original_name = models.CharField(max_length=255, blank=True)
    file_format = models.CharField(max_length=16, blank=True)
    file_size = models.BigIntegerField(default=0)
    row_count = models.BigIntegerField(null=True, blank=True)

    status = models.CharField(
        max_length=16,
        choices=SubmissionStatus.choices,
        default=SubmissionStatus.QUEUED,
        db_index=True,
    )
    error = models.TextField(blank=True)
    scoring_seconds = models.FloatField(null=True, blank=True)

    scores = models.JSONField(
        default=dict, blank=True, help_text='{"public": {metric: value}, ...}'
    )
    public_score = models.FloatField(null=True, blank=True)
    private_score = models.FloatField(null=True, blank=True)
    # Predictions aligned to the solution's row order (npz), for bootstrap intervals and flips.
    predictions = models.FileField(
        upload_to=submission_path, storage=private_storage, max_length=300, blank=True
    )

    is_final = models.BooleanField(
        default=False, help_text="Selected by the team for the private leaderboard."
    )
    is_hidden = models.BooleanField(
        default=False, help_text="Hidden or disqualified by an organizer."
    )
    # The client's ``Idempotency-Key`` of the upload (empty: none was sent): the same key of
    # the same team is one submission, however often the upload is sent again.
    idempotency_key = models.CharField(max_length=255, blank=True, default="", editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["task", "team", "created_at"]),
            models.Index(fields=["status", "status_changed_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "scoring", "scored", "failed"]),
                name="submission_status_valid",
            ),
            models.UniqueConstraint(
                fields=["team", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="submission_idempotency_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.team} on {self.task}"


class InsightDigest(models.Model):
    """Compact results behind a submission's page, computed once (``scoring.digests``).

    ``reference`` empty: the submission's own digest (confusion, curves, OPIS curves); set:
    its flips against that reference. ``key`` names the inputs (solution version, OPIS
    settings, both predictions files): when one changes, the digest is computed anew.
    """

    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="insight_digests"
    )
    reference = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["submission", "key"], name="insight_digest_unique"),
        ]

    def __str__(self) -> str:
        against = f"vs #{self.reference_id}" if self.reference_id else "own"
        return f"digest of #{self.submission_id} ({against})"


def reference_path(instance: Reference, filename: str) -> str:
    return f"references/{instance.task.slug}/{filename}"


class ReferenceSource(models.TextChoices):
    AUTOGLUON = "autogluon", "AutoGluon baseline"
    TRIVIAL = "trivial", "Trivial baseline"
    UPLOAD = "upload", "Uploaded reference"


class Reference(models.Model):
    """A model a task's board shows without a rank, and flips are measured against (§11).

    ``trivial`` is built by the platform from the train labels, ``upload`` is a file an
    organizer or the task owner sent (e.g. "production model, September"); both are scored
    like a submission, their scores and aligned predictions kept here. ``autogluon`` stands
    for the baseline team's latest scored submission (``submission``). One reference per
    task may be marked primary; without a mark the primary is the newest upload, else
    AutoGluon, else the trivial baseline (``scoring.references.primary_reference``).
    """

    task = models.ForeignKey("datasets.Task", on_delete=models.CASCADE, related_name="references")
    name = models.CharField(max_length=80)
    source = models.CharField(max_length=16, choices=ReferenceSource.choices)
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file = models.FileField(
        upload_to=reference_path, storage=private_storage, max_length=300, blank=True
    )
    submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scores = models.JSONField(default=dict, blank=True, help_text='{"public": {metric: value}}')
    public_score = models.FloatField(null=True, blank=True)
    private_score = models.FloatField(null=True, blank=True)
    predictions = models.FileField(
        upload_to=reference_path, storage=private_storage, max_length=300, blank=True
    )
    unusable_reason = models.TextField(
        blank=True,
        help_text="Why this uploaded file no longer scores against the task's current data "
        "(e.g. its ids after a new data version); empty when it is usable",
    )
    # The storage quota (challenges.upload_budget): the team a task owner's upload
    # counts against (null: an organizer's, or built by the platform), and its file's size.
    team = models.ForeignKey(
        "challenges.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The team whose storage quota this upload counts against (a task owner's)",
    )
    file_size = models.PositiveBigIntegerField(default=0, help_text="Bytes of the uploaded file")

    class Meta:
        ordering = ["task", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "name"], name="reference_name_unique_in_task"),
            models.UniqueConstraint(
                fields=["task"], condition=Q(is_primary=True), name="one_primary_reference_per_task"
            ),
            models.UniqueConstraint(
                fields=["task", "source"],
                condition=Q(source__in=["autogluon", "trivial"]),
                name="one_built_in_reference_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.task})"


class ReferenceBuildStatus(models.TextChoices):
    QUEUED = "queued"
    BUILDING = "building"
    BUILT = "built"
    FAILED = "failed"


class ReferenceBuild(Job):
    """A queued build of a task's trivial baseline (docs/architecture.md §11): a job of
    the one lifecycle (:mod:`jobs.lifecycle`; its claim, attempts and times are
    :class:`jobs.models.Job`'s), so the work of building and scoring it happens in a worker, off the
    request that imported the task. A task that arrives queues one in the
    import's transaction (``scoring.services.reference_builds``); one pending per task."""

    task = models.ForeignKey(
        "datasets.Task", on_delete=models.CASCADE, related_name="reference_builds"
    )
    data_version = models.PositiveIntegerField(help_text="The task's data version when queued.")
    status = models.CharField(
        max_length=16,
        choices=ReferenceBuildStatus.choices,
        default=ReferenceBuildStatus.QUEUED,
        db_index=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task"],
                condition=Q(status__in=["queued", "building"]),
                name="one_pending_reference_build_per_task",
            ),
        ]

    def __str__(self) -> str:
        return f"trivial baseline build #{self.pk} of {self.task} ({self.status})"
