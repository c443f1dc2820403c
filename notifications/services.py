"""Writes of notifications: preferences, e-mails, announcements (STYLE: services).

Mails are sent by a Celery task on the ``notifications`` queue, published by name after
the transaction that caused them commits; the task checks the recipient's preference when
it runs, so turning a kind off takes effect for mails still in the queue.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse

from challenge_platform.audit import audit_record
from challenge_platform.models import Challenge, TeamMembership

from .models import OPT_IN, Announcement, Kind, NotificationPreference
from .publishing import publish, site_url
from .webhooks import webhook_event_emit

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "notifications.unsubscribe"
ALL_KINDS = "all"


class NotificationError(Exception):
    def __init__(self, message: str, *, code: str = "invalid", http_status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status


# --- preferences ---------------------------------------------------------------------------


def preferences_get(*, user: AbstractBaseUser) -> dict[str, bool]:
    pref = NotificationPreference.objects.filter(user_id=user.pk).first()
    return {kind: (pref.wants(kind) if pref else kind not in OPT_IN) for kind in Kind.values}


def preferences_set(*, user: AbstractBaseUser, choices: dict[str, bool]) -> dict[str, bool]:
    unknown = set(choices) - set(Kind.values)
    if unknown:
        raise NotificationError(f"Unknown notification kinds: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        pref, _ = NotificationPreference.objects.select_for_update().get_or_create(user=user)
        pref.choices = {**pref.choices, **{k: bool(v) for k, v in choices.items()}}
        pref.save()
    return preferences_get(user=user)


def unsubscribe_token(*, user_id: int, kind: str) -> str:
    return signing.dumps({"u": user_id, "k": kind}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_apply(*, token: str) -> tuple[AbstractBaseUser, str]:
    """Turn off the kind named in a signed token (or every kind); return (user, kind)."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        user_id, kind = int(data["u"]), str(data["k"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise NotificationError(
            "This unsubscribe link is not valid; change your notifications on the settings "
            "page instead.",
            code="bad_token",
        ) from None
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or (kind != ALL_KINDS and kind not in Kind.values):
        raise NotificationError("This unsubscribe link is no longer valid.", code="bad_token")
    kinds = Kind.values if kind == ALL_KINDS else [kind]
    preferences_set(user=user, choices=dict.fromkeys(kinds, False))
    logger.info("user %s unsubscribed from %s", user.pk, kind)
    return user, kind


# --- mail ------------------------------------------------------------------------------------


def notify_users(*, kind: str, user_ids: Iterable[int], subject: str, body: str) -> int:
    """Queue one mail per user (after commit); preferences are checked when it is sent."""
    ids = sorted(set(user_ids))
    for user_id in ids:
        publish(
            "notifications.tasks.send_notification_mail",
            user_id=user_id,
            kind=kind,
            subject=subject,
            body=body,
        )
    return len(ids)


def mail_send(*, user_id: int, kind: str, subject: str, body: str) -> bool:
    """Send one notification mail now (the task's body); False when not wanted or no address.

    Every mail carries an unsubscribe link for its kind, and ``List-Unsubscribe`` with
    ``List-Unsubscribe-Post`` (RFC 8058 one-click) headers. SMTP errors propagate (the task
    retries them).
    """
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return False
    pref = NotificationPreference.objects.filter(user_id=user_id).first()
    if not (pref.wants(kind) if pref else kind not in OPT_IN):
        return False
    link = site_url(
        reverse("notifications:unsubscribe", args=[unsubscribe_token(user_id=user_id, kind=kind)])
    )
    label = Kind(kind).label if kind in Kind.values else kind
    every = site_url(
        reverse(
            "notifications:unsubscribe", args=[unsubscribe_token(user_id=user_id, kind=ALL_KINDS)]
        )
    )
    footer = (
        f"\n\n--\nYou receive this because of your notification settings ({label}).\n"
        f"Unsubscribe from these mails with one click: {link}\n"
        f"Unsubscribe from every notification mail: {every}\n"
        f"All your notification settings: {site_url(reverse('notifications:settings'))}\n"
    )
    prefix = getattr(settings, "EMAIL_SUBJECT_PREFIX_NOTIFICATIONS", "[Challenge] ")
    message = EmailMessage(
        subject=(prefix + subject)[:250],
        body=body + footer,
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Notification-Kind": kind,
        },
    )
    message.send(fail_silently=False)
    logger.info("mailed %s (%s) to user %s", subject, kind, user_id)
    return True


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
    kind: str,
    subject: str,
    body: str,
    event: str,
    event_key: str,
    text: str,
    fields: list[tuple[str, str]],
    data: dict,
) -> None:
    """Tell a challenge's participants of one event: the mail ``kind`` to each (as their
    preferences allow) and the webhook ``event`` to the challenge's webhooks. Both go out
    after the caller's transaction commits."""
    notify_users(
        kind=kind, user_ids=participant_ids(challenge=challenge), subject=subject, body=body
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
        url = site_url(reverse("challenge-detail", args=[challenge.slug])) + "#announcements"
        participants_told(
            challenge=challenge,
            kind=Kind.ANNOUNCEMENT,
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
