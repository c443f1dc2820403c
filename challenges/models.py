"""The challenge domain: challenges, tracks, teams and their members."""

from __future__ import annotations

import secrets
import string

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .markdown import MarkdownHtmlField
from .run_budget import run_budget_validate
from .team_names import name_glyph_key, team_name_key


class Challenge(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown")
    description_html = MarkdownHtmlField(source="description")  # rendered on save
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
    rules_html = MarkdownHtmlField(source="rules")
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
    cowinners = models.CharField(
        max_length=8,
        choices=[
            ("off", "Not shown: the winners page names the ranks only"),
            (
                "show",
                "Shown: teams that cannot be separated from #1 are named as co-winners, "
                "the prize still goes by rank",
            ),
            ("decide", "Decide: teams that cannot be separated from #1 share the first prize"),
        ],
        default="show",
        help_text="Teams whose track mean cannot be separated from #1's at the confidence level "
        "below (resampling rows within tasks and tasks within the track), on the winners page "
        "after the reveal.",
    )
    confidence_level = models.FloatField(
        default=0.95,
        validators=[MinValueValidator(0.5), MaxValueValidator(0.999)],
        help_text="Confidence of the track standings' rank intervals and groups (P(first), "
        "co-winners), e.g. 0.95; from 0.5 to 0.999.",
    )
    equivalence_margin = models.FloatField(
        default=0.005,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Region of practical equivalence of the track boards' pairwise verdicts, in "
        "units of the track mean (the primary metric for accuracy or F1: 0.005 is half a "
        "point): two teams whose difference lies within +- this at the confidence level above "
        "are 'equivalent'.",
    )
    gate_nfr_epsilon = models.FloatField(
        default=0.02,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="The champion gate's bound on breaks: a new entry takes a task's champion's "
        "place only if the upper end of the 95% interval of its negative flip rate against "
        "the champion (and of every slice's) is at most this, e.g. 0.02; a task may set its "
        "own (docs/organizers/champion-gate.md).",
    )
    gate_cannot_tell = models.CharField(
        max_length=8,
        choices=[
            (
                "keep",
                "Keep the champion: an entry the gate cannot tell about does not take its place",
            ),
            (
                "crown",
                "Crown the entry: really better, no slice broken, and an NFR below the bound "
                "that the split is too small to show",
            ),
        ],
        default="keep",
        help_text="What a 'cannot tell' verdict of the champion gate does to the champion: the "
        "entry is better and breaks less than the bound as far as the rows show, but the split "
        "is too small to bound its negative flip rate (docs/organizers/champion-gate.md).",
    )
    release_checks_per_day = models.PositiveIntegerField(
        default=10,
        help_text="Release checks (would this file be the champion?) per team, per task, per "
        "UTC day; each answer tells a little about the public rows, like a submission's score "
        "(docs/organizers/disclosure.md). Organizers have no limit.",
    )
    release_check_min_changed = models.PositiveIntegerField(
        default=20,
        help_text="A release check gives counts (flips, McNemar, rates, the difference) only "
        "when the file differs from the champion on at least this many rows of the split; "
        "below it the answer says 'too few changed rows to report' "
        "(docs/organizers/disclosure.md). "
        "Organizers and the task's owners always see the counts.",
    )
    run_budget = models.JSONField(
        default=dict,
        blank=True,
        validators=[run_budget_validate],
        help_text="What the platform's own runs of this challenge's tasks may use "
        '(algorithms.services.run_budget): {"train_rows": N} fits the AutoGluon baseline '
        "(and its stress runs) on a stratified sample of at most N train rows; "
        '{"without_models": ["CAT"]} leaves model types out of its portfolio; '
        '{"stress_rows": N} caps every stress test set at N copies. {}: the platform\'s '
        "settings (docs/decisions/0074-the-demo-settles-on-a-budget.md).",
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
            models.CheckConstraint(
                condition=Q(confidence_level__gte=0.5) & Q(confidence_level__lte=0.999),
                name="challenge_confidence_level_range",
            ),
            models.CheckConstraint(
                condition=Q(cowinners__in=["off", "show", "decide"]),
                name="challenge_cowinners_choice",
            ),
            models.CheckConstraint(
                condition=Q(equivalence_margin__gte=0) & Q(equivalence_margin__lte=1),
                name="challenge_equivalence_margin_range",
            ),
            models.CheckConstraint(
                condition=Q(gate_nfr_epsilon__gte=0) & Q(gate_nfr_epsilon__lte=1),
                name="challenge_gate_nfr_epsilon_range",
            ),
            models.CheckConstraint(
                condition=Q(gate_cannot_tell__in=["keep", "crown"]),
                name="challenge_gate_cannot_tell_choice",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: object, **kwargs: object) -> None:
        super().save(*args, **kwargs)  # type: ignore[arg-type]
        self._main_phase_sync()

    def _main_phase_sync(self) -> None:
        """Give the challenge its ``main`` phase when it has none; with one phase, keep that
        phase's dates the challenge's: one phase behaves as before phases
        (docs/decisions/0066-phases.md; the other phase rules: ``challenges.phases``)."""
        phases = list(Phase.objects.filter(challenge=self)[:2])
        if not phases:
            Phase.objects.create(
                challenge=self,
                slug="main",
                title="Main phase",
                start=self.start,
                end=self.end,
                final=True,
            )
        elif len(phases) == 1 and (phases[0].start, phases[0].end) != (self.start, self.end):
            Phase.objects.filter(pk=phases[0].pk).update(start=self.start, end=self.end)

    def is_open(self, at=None) -> bool:
        at = at or timezone.now()
        return self.start <= at < self.end

    def flip_examples_visible(self, at=None) -> bool:
        """Whether example row ids are shown next to flips (``flip_examples``)."""
        if self.flip_examples == "auto":
            return (at or timezone.now()) >= self.end
        return self.flip_examples == "shown"

    @property
    def alpha(self) -> float:
        """1 - the confidence level: the tails of the standings' intervals and groups."""
        return round(1.0 - self.confidence_level, 6)

    def private_visible(self, at=None) -> bool:
        """Whether participants may see private scores."""
        at = at or timezone.now()
        return self.private_revealed or (self.reveal_at is not None and at >= self.reveal_at)


class PhaseFeedback(models.TextChoices):
    """What a participant sees of a phase's scores before the reveal
    (docs/decisions/0066-phases.md)."""

    LIVE = "live", "Live: the task's board mode"
    BLIND = "blind", "Blind: scored, but no figure reaches a participant until the reveal"


class Phase(models.Model):
    """One of a challenge's ordered phases (docs/decisions/0066-phases.md): a span of dates
    in which uploads are taken, with its own feedback, limits, and whether its private
    scores make the standings (``final``). Every challenge has at least one (``main``, with
    the challenge's own dates); the challenge's start and end are its phases' span.
    Written by ``challenges.phases``."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="phases")
    slug = models.SlugField(max_length=50)
    title = models.CharField(max_length=200)
    start = models.DateTimeField()
    end = models.DateTimeField()
    feedback = models.CharField(
        max_length=8, choices=PhaseFeedback.choices, default=PhaseFeedback.LIVE
    )
    daily_submission_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Submissions per team, per task, per UTC day in this phase; empty: the "
        "challenge's.",
    )
    max_submissions = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Submissions per team, per task, over the whole phase; empty: no cap.",
    )
    final = models.BooleanField(
        default=False, help_text="This phase's private scores make the standings."
    )
    # When the phase's start and end were announced (mail, webhooks: ``challenges.phases``'
    # tick); null: not yet. A challenge of one phase announces nothing.
    start_announced_at = models.DateTimeField(null=True, blank=True, editable=False)
    end_announced_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["challenge", "start", "id"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "slug"], name="phase_slug_unique"),
            models.UniqueConstraint(
                fields=["challenge"], condition=Q(final=True), name="one_final_phase"
            ),
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="phase_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(feedback__in=["live", "blind"]), name="phase_feedback_choice"
            ),
            models.CheckConstraint(
                condition=Q(daily_submission_limit__isnull=True) | Q(daily_submission_limit__gte=1),
                name="phase_limit_positive",
            ),
            models.CheckConstraint(
                condition=Q(max_submissions__isnull=True) | Q(max_submissions__gte=1),
                name="phase_max_submissions_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.challenge.slug}/{self.slug}"

    def is_open(self, at=None) -> bool:
        at = at or timezone.now()
        return self.start <= at < self.end

    @property
    def is_blind(self) -> bool:
        return self.feedback == PhaseFeedback.BLIND


class Track(models.Model):
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="tracks")
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown")
    order = models.PositiveIntegerField(default=0)
    prize = models.TextField(
        blank=True, help_text="What the winners of this track receive (shown on its winners page)."
    )
    prize_html = MarkdownHtmlField(source="prize")
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


# Letters and digits only: a code typed after `chal teams join` must not read as an option
# ("-x..." did, one code in 32 of token_urlsafe's), and is easier to read out.
INVITE_CODE_ALPHABET = string.ascii_letters + string.digits


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_CODE_ALPHABET) for _ in range(12))


class Team(models.Model):
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=80)
    # The name as compared (challenges.team_names): unique per challenge, so look-alike
    # names ("Team\u200bA", "TEAM A", "Team-A", Cyrillic letters) cannot coexist; the glyph
    # key reads a capital I as l ("AIice" as "Alice"), also unique. Set by save().
    name_key = models.CharField(max_length=160, editable=False, default="")
    name_glyph_key = models.CharField(max_length=160, editable=False, default="")
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
                fields=["challenge", "name_key"], name="team_name_key_unique_in_challenge"
            ),
            models.UniqueConstraint(
                fields=["challenge", "name_glyph_key"],
                name="team_name_glyph_key_unique_in_challenge",
            ),
            models.UniqueConstraint(
                fields=["challenge"],
                condition=Q(is_baseline=True),
                name="one_baseline_team_per_challenge",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        self.name_key = team_name_key(name=self.name)
        self.name_glyph_key = name_glyph_key(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_key", "name_glyph_key"}  # type: ignore[misc]
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def hidden_refusal(self, cannot: str) -> str:
        """What a member of this hidden (or disqualified) team is told when refused:
        ``cannot`` says what, e.g. "cannot submit". The one wording for every refusal."""
        return (
            f"Your team “{self.name}” has been hidden or disqualified by the organizers and "
            f"{cannot}; contact them."
        )


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


class TokenRevocation(models.TextChoices):
    """Why every API token of an account was revoked (``challenges.tokens``)."""

    RESET = "password_reset", "the account's password was reset"
    CHANGED = "password_changed", "the account's password was changed"
    SET_ANEW = "password_set", "an organizer set a new password for the account"
    DEACTIVATED = "deactivated", "the account was deactivated"


class RevokedApiToken(models.Model):
    """An API token revoked by a change to its account, remembered by its digest for
    ``REVOKED_API_TOKEN_NOTICE_DAYS``, so that a client still using it hears why (401
    ``token_revoked``) rather than "invalid token". The key itself was never stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_key = models.CharField(max_length=25, db_index=True)  # knox's lookup prefix
    digest = models.CharField(max_length=128, unique=True)  # knox's SHA-512 of the key
    reason = models.CharField(max_length=32, choices=TokenRevocation.choices)
    revoked_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-revoked_at", "-id"]
        verbose_name = "revoked API token"

    def __str__(self) -> str:
        return f"{self.token_key[:8]}… of {self.user_id}: {self.reason}"


class AuditRefused(Exception):
    """The audit log is append-only: an existing event is never changed or deleted."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditRefused("The audit log is append-only: events are never updated.")

    def delete(self):
        raise AuditRefused("The audit log is append-only: events are never deleted.")


class AuditEvent(models.Model):
    """One organizer or task-owner action: who, when, what (before/after) and why.

    Written only by :func:`challenges.audit.audit_record`; append-only (``save`` of an
    existing row, ``delete`` and queryset ``update``/``delete`` are refused).
    """

    at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too: the record outlives the account.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, db_index=True)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    challenge = models.ForeignKey(
        Challenge, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit event"
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["object_type", "object_id", "at"])]

    def __str__(self) -> str:
        who = self.actor_name or "system"
        return f"{self.at:%Y-%m-%d %H:%M:%S} {who}: {self.action} {self.object_repr}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AuditRefused("The audit log is append-only: events are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditRefused("The audit log is append-only: events are never deleted.")
