"""The challenge domain: challenges, tracks, teams and their members."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Challenge(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown")
    start = models.DateTimeField()
    end = models.DateTimeField()
    daily_submission_limit = models.PositiveIntegerField(
        default=5, help_text="Scored or pending submissions per team, per task, per UTC day."
    )
    max_team_size = models.PositiveIntegerField(default=5)
    max_final_selections = models.PositiveIntegerField(default=2)
    reveal_at = models.DateTimeField(
        null=True, blank=True, help_text="Private scores become public at this time."
    )
    private_revealed = models.BooleanField(
        default=False, help_text="Set by the organizer's reveal action."
    )
    rules = models.TextField(
        blank=True,
        help_text="Markdown. Participants must accept them before they join a team, download "
        "data or submit. Empty: nothing to accept.",
    )
    rules_version = models.PositiveIntegerField(
        default=1,
        help_text="Raised whenever the rules text changes (automatically when saved here); "
        "everyone must accept the new version.",
    )
    writeups_required_top = models.PositiveIntegerField(
        default=0,
        help_text="Teams in the top N of a track board are reminded to write up their method "
        "before the end (0: no requirement).",
    )
    flip_examples = models.CharField(
        max_length=8,
        choices=[
            ("auto", "Hidden while the challenge runs, shown after its end"),
            ("shown", "Always shown"),
            ("hidden", "Never shown"),
        ],
        default="auto",
        help_text="Example row ids next to flips reveal per-row correctness (public labels a "
        "few at a time) on the submission insight page.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start", "slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="challenge_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(daily_submission_limit__gte=1), name="challenge_limit_positive"
            ),
            models.CheckConstraint(
                condition=Q(max_team_size__gte=1), name="challenge_team_size_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def is_open(self, at=None) -> bool:
        at = at or timezone.now()
        return self.start <= at < self.end

    def flip_examples_visible(self, at=None) -> bool:
        """Whether example row ids are shown next to flips (``flip_examples``)."""
        if self.flip_examples == "auto":
            return (at or timezone.now()) >= self.end
        return self.flip_examples == "shown"

    def private_visible(self, at=None) -> bool:
        """Whether participants may see private scores."""
        at = at or timezone.now()
        return self.private_revealed or (self.reveal_at is not None and at >= self.reveal_at)


class Track(models.Model):
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="tracks")
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown")
    order = models.PositiveIntegerField(default=0)
    prize = models.TextField(
        blank=True, help_text="What the winners of this track receive (shown on its winners page)."
    )
    prize_max_nfr = models.FloatField(
        null=True,
        blank=True,
        help_text="Eligible for the prize only below this negative flip rate (0-1, e.g. 0.05) "
        "against each task's primary reference; empty: no limit. Ineligible teams stay on "
        "the boards, marked.",
    )

    class Meta:
        ordering = ["challenge", "order", "slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(prize_max_nfr__isnull=True)
                | (Q(prize_max_nfr__gte=0) & Q(prize_max_nfr__lte=1)),
                name="track_prize_max_nfr_is_a_rate",
            ),
        ]

    def __str__(self) -> str:
        return self.title


def new_invite_code() -> str:
    return secrets.token_urlsafe(9)


class Team(models.Model):
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=80)
    invite_code = models.CharField(max_length=32, unique=True, default=new_invite_code)
    is_baseline = models.BooleanField(
        default=False, help_text="The built-in AutoGluon team: shown, never ranked."
    )
    is_hidden = models.BooleanField(
        default=False,
        help_text="Disqualified or hidden: off the leaderboards, kept in the records.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="TeamMembership", related_name="teams"
    )

    class Meta:
        ordering = ["challenge", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["challenge", "name"], name="team_name_unique_in_challenge"
            ),
            models.UniqueConstraint(
                fields=["challenge"],
                condition=Q(is_baseline=True),
                name="one_baseline_team_per_challenge",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    # Denormalized from team.challenge so the database can enforce one team per user per challenge.
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="+")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "challenge"], name="one_team_per_user_per_challenge"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class RulesAcceptance(models.Model):
    """Who accepted which version of a challenge's rules, and when (kept for organizers)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rules_acceptances"
    )
    challenge = models.ForeignKey(
        Challenge, on_delete=models.CASCADE, related_name="rules_acceptances"
    )
    version = models.PositiveIntegerField()
    accepted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["challenge", "-accepted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "challenge", "version"], name="rules_accepted_once_per_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} accepted {self.challenge.slug} rules v{self.version}"


class WorkerHeartbeat(models.Model):
    """Last time a worker ran the heartbeat task, for the organizer's health panel."""

    hostname = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
