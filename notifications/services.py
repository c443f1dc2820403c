"""Writes of notifications: preferences, e-mails, announcements (docs/architecture.md,
House style: services).

Mails are jobs (:mod:`notifications.mail`): a row per mail, sent by a Celery task on the
``notifications`` queue once the transaction that caused them commits; the task checks the
recipient's preference when it runs, so turning a topic off takes effect for mails still in
the queue.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db import transaction
from django.urls import reverse

from challenges.audit import audit_record
from challenges.models import Challenge, TeamMembership

from .mail import ALL_TOPICS, UNSUBSCRIBE_SALT, mails_queue
from .models import OPT_IN, Announcement, NotificationPreference, Topic
from .publishing import site_url
from .webhooks import webhook_event_emit

logger = logging.getLogger(__name__)



class NotificationError(Exception):
    def __init__(self, message: str, *, code: str = "invalid", http_status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status


# --- preferences ---------------------------------------------------------------------------


def preferences_get(*, user: AbstractBaseUser) -> dict[str, bool]:
    pref = NotificationPreference.objects.filter(user_id=user.pk).first()
    return {topic: (pref.wants(topic) if pref else topic not in OPT_IN) for topic in Topic.values}


def preferences_set(*, user: AbstractBaseUser, choices: dict[str, bool]) -> dict[str, bool]:
    unknown = set(choices) - set(Topic.values)
    if unknown:
        raise NotificationError(f"Unknown notification topics: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        pref, _ = NotificationPreference.objects.select_for_update().get_or_create(user=user)
        pref.choices = {**pref.choices, **{k: bool(v) for k, v in choices.items()}}
        pref.save()
    return preferences_get(user=user)


def unsubscribe_apply(*, token: str) -> tuple[AbstractBaseUser, str]:
    """Turn off the topic named in a signed token (or every topic); return (user, topic)."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        user_id, topic = int(data["u"]), str(data["k"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise NotificationError(
            "This unsubscribe link is not valid; change your notifications on the settings "
            "page instead.",
            code="bad_token",
        ) from None
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or (topic != ALL_TOPICS and topic not in Topic.values):
        raise NotificationError("This unsubscribe link is no longer valid.", code="bad_token")
    topics = Topic.values if topic == ALL_TOPICS else [topic]
    preferences_set(user=user, choices=dict.fromkeys(topics, False))
    logger.info("user %s unsubscribed from %s", user.pk, topic)
    return user, topic


# --- mail ------------------------------------------------------------------------------------


def notify_users(*, topic: str, user_ids: Iterable[int], subject: str, body: str) -> int:
    """Queue one mail per user (a job each, sent after commit); preferences are checked when
    it is sent (:mod:`notifications.mail`)."""
    return mails_queue(topic=topic, user_ids=user_ids, subject=subject, body=body)


def participant_ids(*, challenge: Challenge) -> list[int]:
    """Members of the challenge's competing teams (not the baseline team, not hidden)."""
    return list(
        TeamMembership.objects.filter(
            challenge=challenge, team__is_baseline=False, team__is_hidden=False
        ).values_list("user_id", flat=True)
    )


def participants_told(
    *,
    challenge: Challenge,
    topic: str,
    subject: str,
    body: str,
    event: str,
    event_key: str,
    text: str,
    fields: list[tuple[str, str]],
    data: dict,
) -> None:
    """Tell a challenge's participants of one event: the mail ``topic`` to each (as their
    preferences allow) and the webhook ``event`` to the challenge's webhooks. Both go out
    after the caller's transaction commits."""
    notify_users(
        topic=topic, user_ids=participant_ids(challenge=challenge), subject=subject, body=body
    )
    webhook_event_emit(
        challenge=challenge, event=event, event_key=event_key, text=text, fields=fields, data=data
    )


# --- announcements ---------------------------------------------------------------------------


def announcement_create(
    *, challenge: Challenge, user: AbstractBaseUser | None, title: str, body: str
) -> Announcement:
    """Post an announcement: shown on the challenge page, mailed to participants, and sent
    to the challenge's webhooks, all after commit."""
    title = title.strip()
    if not title:
        raise NotificationError("An announcement needs a title.")
    if not body.strip():
        raise NotificationError("An announcement needs a text.")
    with transaction.atomic():
        announcement = Announcement.objects.create(
            challenge=challenge,
            title=title[:200],
            body=body,
            created_by_id=getattr(user, "pk", None),
        )
        # In the audit log with the organizers' other acts (issue 25), in the same transaction.
        audit_record(
            actor=user,
            action="announcement.post",
            obj=announcement,
            after={"title": announcement.title, "body": announcement.body},
        )
        url = site_url(path=reverse("challenge-detail", args=[challenge.slug])) + "#announcements"
        participants_told(
            challenge=challenge,
            topic=Topic.ANNOUNCEMENT,
            subject=f"{challenge.title}: {announcement.title}",
            body=f"{announcement.body}\n\n{url}",
            event="announcement",
            event_key=f"announcement:{announcement.pk}",
            text=f"*{challenge.title}* announcement: {announcement.title}",
            fields=[("Challenge", challenge.title), ("Link", url)],
            data={
                "challenge": challenge.slug,
                "title": announcement.title,
                "body": announcement.body,
                "url": url,
            },
        )
    return announcement
