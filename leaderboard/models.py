"""Leaderboard entries, maintained when a submission is scored (never computed per page view),
and each task's champion: its timeline and the checks that weigh entries against it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from common import board_modes
from datasets.models import Task
from jobs.models import Job


class Split(models.TextChoices):
    PUBLIC = "public"
    PRIVATE = "private"


class LeaderboardEntry(models.Model):
    task = models.ForeignKey(
        "datasets.Task", on_delete=models.CASCADE, related_name="leaderboard_entries"
    )
    team = models.ForeignKey("challenges.Team", on_delete=models.CASCADE, related_name="+")
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
    # The simultaneous rank set (leaderboard.core.rank_sets: every entry's holds at once, at
    # 95%); null for a baseline and until computed. rank_low/rank_high are per entry.
    rank_set_low = models.PositiveIntegerField(null=True, blank=True)
    rank_set_high = models.PositiveIntegerField(null=True, blank=True)
    # Flips against the task's primary reference on this split (docs/architecture.md
    # §11), with the bootstrap interval; filled with the intervals, null until computed or without
    # one.
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


# --- the champion gate (docs/organizers/champion-gate.md) ---------------------------------------


class ChampionBy(models.TextChoices):
    """How an entry became its task's champion."""

    INITIAL = "initial", "the task's primary reference at the start"
    GATE = "gate", "passed the gate"
    PIN = "pin", "pinned by an organizer"


def _one_entry_at_most() -> Q:
    """At most one of ``submission``, ``reference`` and ``run`` names the entry (none: the
    entry was removed since; its ``label`` stays)."""
    sub, ref, run = (Q(**{f"{name}__isnull": False}) for name in ("submission", "reference", "run"))
    return ~(sub & ref) & ~(sub & run) & ~(ref & run)


class ChampionChange(models.Model):
    """One step of a task's champion timeline: who became champion, when, how (``by``) and,
    for the gate's decisions, by how much: the primary metric's ``difference`` (positive:
    better) with its interval, the NFR against the previous champion with its upper bound,
    and the worst slice. The latest row of a task is its champion (``TaskChampion``)."""

    task = models.ForeignKey(
        "datasets.Task", on_delete=models.CASCADE, related_name="champion_changes"
    )
    submission = models.ForeignKey(
        "scoring.Submission", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reference = models.ForeignKey(
        "scoring.Reference", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    run = models.ForeignKey(
        "algorithms.AlgorithmRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    team = models.ForeignKey(
        "challenges.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    label = models.CharField(max_length=200, help_text="The entry as pages name it.")
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)
    by = models.CharField(max_length=8, choices=ChampionBy.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True, help_text="An organizer's pin: why (audited).")
    split = models.CharField(max_length=8, choices=Split.choices, default=Split.PUBLIC)
    difference = models.FloatField(null=True, blank=True)
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    nfr = models.FloatField(null=True, blank=True)
    nfr_upper = models.FloatField(null=True, blank=True)
    pfr = models.FloatField(null=True, blank=True)
    worst_slice = models.JSONField(null=True, blank=True)
    # The gate's verdict of a ``gate`` step (docs/organizers/champion-gate.md): ``passes``, or
    # ``cannot_tell`` where the challenge crowns those; null for the start and for pins.
    verdict = models.CharField(max_length=12, blank=True, default="")
    rows_needed = models.PositiveBigIntegerField(null=True, blank=True)
    # Rows of the split where the new entry's output differs from the previous champion's
    # (the disclosure rule's count, docs/organizers/disclosure.md); null for the start and for pins.
    changed_rows = models.PositiveIntegerField(null=True, blank=True)
    # The task's data version the step was decided on: a start is decided again on a new one.
    data_version = models.PositiveIntegerField(default=1)
    decided_by = models.ForeignKey(
        "leaderboard.ChampionCheck",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["task", "at", "id"]
        constraints = [
            models.CheckConstraint(condition=_one_entry_at_most(), name="champion_one_entry"),
            models.CheckConstraint(
                condition=Q(by__in=["initial", "gate", "pin"]), name="champion_change_by_valid"
            ),
            models.CheckConstraint(
                condition=Q(verdict__in=["", "passes", "cannot_tell"]),
                name="champion_change_verdict_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task}: {self.label} ({self.by}, {self.at:%Y-%m-%d %H:%M})"


class TaskChampion(models.Model):
    """A task's current champion (its latest change), and the row a decision locks: two
    decisions of one task take turns on it."""

    task = models.OneToOneField("datasets.Task", on_delete=models.CASCADE, related_name="champion")
    current = models.ForeignKey(
        ChampionChange, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"champion of {self.task}"


class ChampionCheckStatus(models.TextChoices):
    QUEUED = "queued"
    WEIGHING = "weighing"
    DONE = "done"
    FAILED = "failed"


class ChampionCheck(Job):
    """One entry weighed against its task's champion: a job of the lifecycle
    (``leaderboard.champion.jobs.CHAMPION_CHECK``).

    A *deciding* check (``decides``) is queued once per new scored entry (a submission, or
    a run scored for the transfer matrix) and may crown it; the others are verdicts ("would
    this be a champion?") of board entries against the champion of the day. ``key`` names
    what is weighed, so queuing the same check twice is a no-op. ``against`` is the champion
    it was weighed against, ``result`` the release check's document."""

    task = models.ForeignKey(
        "datasets.Task", on_delete=models.CASCADE, related_name="champion_checks"
    )
    submission = models.ForeignKey(
        "scoring.Submission", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    run = models.ForeignKey(
        "algorithms.AlgorithmRun",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    decides = models.BooleanField(default=False)
    key = models.CharField(max_length=200, unique=True)
    status = models.CharField(
        max_length=10, choices=ChampionCheckStatus.choices, default=ChampionCheckStatus.QUEUED
    )
    against = models.ForeignKey(
        ChampionChange, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    split = models.CharField(max_length=8, choices=Split.choices, default=Split.PUBLIC)
    data_version = models.PositiveIntegerField(default=1)
    epsilon = models.FloatField(null=True, blank=True)
    alpha = models.FloatField(null=True, blank=True)
    passes = models.BooleanField(null=True, blank=True)
    outcome = models.CharField(max_length=16, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "status_changed_at"], name="champion_check_status_idx"),
            models.Index(
                fields=["task", "submission", "against"], name="champion_check_verdict_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "weighing", "done", "failed"]),
                name="champion_check_status_valid",
            ),
            models.CheckConstraint(
                condition=~(Q(submission__isnull=False) & Q(run__isnull=False)),
                name="champion_check_one_candidate",
            ),
        ]

    def __str__(self) -> str:
        what = f"submission #{self.submission_id}" if self.submission_id else f"run #{self.run_id}"
        return f"{what} against the champion of {self.task} ({self.status})"


# --- the public board's ladder (docs/organizers/ladder.md) ----------------------------------------


class LadderStep(models.Model):
    """One scored entry of a team on a task's public board, weighed against the team's
    leader (its last entry that climbed) under the task's mode (``leaderboard.boards.ladder``).

    ``shown_score`` is the team's shown public score after this entry: its own when it
    climbed, else the leader's, unchanged (plain mode: the team's best exact score). The
    figures of the decision (``difference`` with its ``standard_error``, or the
    ``bayes_factor`` of ``wins`` out of ``bootstraps``) are for organizers. ``key`` names
    what the decision was made on (mode, settings, data version, both prediction files):
    a step whose key no longer matches is decided again."""

    submission = models.OneToOneField(
        "scoring.Submission", on_delete=models.CASCADE, related_name="ladder_step"
    )
    task = models.ForeignKey("datasets.Task", on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("challenges.Team", on_delete=models.CASCADE, related_name="+")
    mode = models.CharField(max_length=16)
    key = models.CharField(max_length=400)
    leader = models.ForeignKey(
        "scoring.Submission",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The entry this one was weighed against (none: the team's first).",
    )
    climbed = models.BooleanField()
    shown_score = models.FloatField(null=True, blank=True)
    units = models.PositiveIntegerField(default=0)
    difference = models.FloatField(null=True, blank=True)
    standard_error = models.FloatField(null=True, blank=True)
    bayes_factor = models.FloatField(null=True, blank=True)
    wins = models.PositiveIntegerField(null=True, blank=True)
    bootstraps = models.PositiveIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["task", "team", "submission"]
        indexes = [models.Index(fields=["task", "team"], name="ladder_step_task_team_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(mode__in=board_modes.MODES),
                name="ladder_step_mode_valid",
            ),
        ]

    def __str__(self) -> str:
        what = "climbed" if self.climbed else "stayed"
        return f"submission #{self.submission_id} on {self.task_id}: {what} ({self.mode})"


class TaskBoardMode(Task):
    """A task seen from its public board's mode: the console's "Public board modes", where
    organizers set it (``leaderboard.boards.mode.task_board_mode_set``, audited)."""

    class Meta:
        proxy = True
        verbose_name = "public board mode"
        verbose_name_plural = "public board modes"
class ReleaseCheckUse(models.Model):
    """One release check answered for a team on a task: the daily budget of release checks
    (``Challenge.release_checks_per_day``, per team, task and UTC day) counts these rows. A
    row is taken before the file is weighed and given back when no answer is given."""

    team = models.ForeignKey("challenges.Team", on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey("datasets.Task", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["team", "task", "at"], name="release_check_use_idx")]

    def __str__(self) -> str:
        return f"release check of team {self.team_id} on task {self.task_id} at {self.at}"
