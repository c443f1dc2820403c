"""Notification preferences, announcements, outgoing webhooks and their deliveries."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from challenges.markdown import MarkdownHtmlField
from jobs.models import Job


class Topic(models.TextChoices):
    """What a mail is about; each topic can be switched off by its recipient."""

    SUBMISSION_FAILED = "submission_failed", "A submission of my team failed"
    SUBMISSION_SCORED = "submission_scored", "A submission of my team was scored"
    TEAM = "team", "Team invitations and new members"
    ANNOUNCEMENT = "announcement", "Organizers' announcements"
    REVEAL = "reveal", "The private leaderboard is revealed"
    DEADLINE = "deadline", "Deadline reminders (7 days and 1 day before the end)"
    STANDINGS = "standings", "The final standings"
    WRITEUP = "writeup", "Reminders to write up my team's method"
    DECISION = "decision", "Organizers' decisions about my team (hidden, disqualified, restored)"
    TASK_DATA = "task_data", "A task's data was updated (every submission is re-scored)"
    DISCUSSION = "discussion", "Replies and answers in discussion threads I follow"


# Off unless the user turns them on (issue 12: scored submissions are opt-in).
OPT_IN = frozenset({Topic.SUBMISSION_SCORED})


class NotificationPreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    # {topic: bool}; a missing topic takes its default (on, except the opt-in ones).
    choices = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"notification preferences of {self.user}"

    def wants(self, topic: str) -> bool:
        return bool(self.choices.get(topic, topic not in OPT_IN))


class Announcement(models.Model):
    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.CASCADE, related_name="announcements"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown (rendered and sanitized when saved).")
    body_html = MarkdownHtmlField(source="body")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class WebhookEvent(models.TextChoices):
    LEADER = "leader", "New #1 on a task"
    REVEAL = "reveal", "Private leaderboard revealed"
    ANNOUNCEMENT = "announcement", "Announcement posted"
    STANDINGS = "standings", "Final standings frozen"
    TASK_DATA = "task_data", "A task's data updated (submissions re-scored)"
    CHAMPION = "champion", "A task's champion changed (the regression gate, or a pin)"
    PHASE = "phase", "A phase of the challenge started or ended"
    DISCUSSION = "discussion", "A reply, an answer or an organizers' post in a discussion thread"


class Webhook(models.Model):
    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=500, help_text="http(s) only.")
    secret = models.CharField(
        max_length=200,
        help_text="Signs each try: X-Signature-256: sha256=<HMAC-SHA256 of "
        "'<X-Signature-Timestamp>.<body>'>. Write-only in the console.",
    )
    events = models.JSONField(default=list, help_text="Event names; empty means every event.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["challenge", "pk"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event: str) -> bool:
        return self.is_active and (not self.events or event in self.events)


class DeliveryStatus(models.TextChoices):
    """A delivery's place in the job lifecycle (:mod:`jobs.lifecycle`): queued (also
    between tries, until ``due_at``) -> sending -> delivered | failed."""

    QUEUED = "queued"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(Job):
    """One event for one webhook: sent until a 2xx answer or out of attempts; a job of the
    one lifecycle (``notifications.job_types.DELIVERY``): its claim, attempts and times are
    :class:`jobs.models.Job`'s (``started_at``: the last try's start; ``due_at``: the next
    try's time)."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32)
    # Names the occurrence (e.g. "leader:12:7"), so one event is queued once per webhook.
    event_key = models.CharField(max_length=200)
    body = models.TextField(help_text="The exact JSON body sent (and signed).")
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # Every try: [{"at", "address", "response_code", "error", "duration_ms"}], oldest first.
    tries = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "event_key"], name="one_delivery_per_webhook_event"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "sending", "delivered", "failed"]),
                name="webhook_delivery_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"{self.event} -> {self.webhook} ({self.status})"


class MailStatus(models.TextChoices):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"  # its recipient turned the topic off, has no address or is inactive
    FAILED = "failed"


class MailDelivery(Job):
    """One notification mail to one user: a job of the one lifecycle
    (``notifications.job_types.MAIL``), so a mail whose message was lost is sent again and a
    mail is sent once. Its claim, attempts and times are :class:`jobs.models.Job`'s."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    topic = models.CharField(max_length=32, help_text="What the mail is about (Topic).")
    subject = models.CharField(max_length=250)
    body = models.TextField()
    status = models.CharField(
        max_length=16, choices=MailStatus.choices, default=MailStatus.QUEUED, db_index=True
    )
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "mail deliveries"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "sending", "sent", "skipped", "failed"]),
                name="mail_delivery_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} mail to user {self.user_id} ({self.status})"


class SentOnce(models.Model):
    """A notification that must go out once (a reminder, the reveal): its key, when sent."""

    key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key


class TaskLeader(models.Model):
    """The team last seen at #1 of a task's public board (to announce a new #1 once)."""

    task = models.OneToOneField("datasets.Task", on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(
        "challenges.Team", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"#1 of task {self.task_id}: team {self.team_id}"
