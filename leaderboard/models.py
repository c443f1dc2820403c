"""Leaderboard entries, maintained when a submission is scored (never computed per page view)."""

from __future__ import annotations

from django.db import models


class Split(models.TextChoices):
    PUBLIC = "public"
    PRIVATE = "private"


class LeaderboardEntry(models.Model):
    task = models.ForeignKey(
        "datasets.Task", on_delete=models.CASCADE, related_name="leaderboard_entries"
    )
    team = models.ForeignKey("challenge_platform.Team", on_delete=models.CASCADE, related_name="+")
    split = models.CharField(max_length=8, choices=Split.choices)
    submission = models.ForeignKey("scoring.Submission", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    metrics = models.JSONField(default=dict)
    rank = models.PositiveIntegerField(null=True, blank=True)
    position = models.PositiveIntegerField(
        default=0, help_text="Order on the board, baseline included."
    )
    is_baseline = models.BooleanField(default=False)
    submission_count = models.PositiveIntegerField(default=0)
    last_submission_at = models.DateTimeField(null=True, blank=True)
    best_submitted_at = models.DateTimeField()
    # Bootstrap uncertainty (filled by a task after each score; null until computed).
    score_low = models.FloatField(null=True, blank=True)
    score_high = models.FloatField(null=True, blank=True)
    rank_low = models.PositiveIntegerField(null=True, blank=True)
    rank_high = models.PositiveIntegerField(null=True, blank=True)
    tied_with_best = models.BooleanField(default=False)
    # Flips against the task's primary reference on this split (DESIGN §11), with the
    # bootstrap interval; filled with the intervals, null until computed or without one.
    nfr = models.FloatField(null=True, blank=True)
    nfr_low = models.FloatField(null=True, blank=True)
    nfr_high = models.FloatField(null=True, blank=True)
    pfr = models.FloatField(null=True, blank=True)
    pfr_low = models.FloatField(null=True, blank=True)
    pfr_high = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["task", "split", "position"]
        verbose_name_plural = "leaderboard entries"
        constraints = [
            models.UniqueConstraint(
                fields=["task", "team", "split"], name="one_entry_per_team_task_split"
            ),
        ]
        indexes = [models.Index(fields=["task", "split", "position"])]

    def __str__(self) -> str:
        return f"{self.task} {self.split} #{self.rank}: {self.team}"
