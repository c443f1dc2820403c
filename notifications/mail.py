"""Notification mails as jobs: one row per mail and recipient, sent once by a worker.

A mail is a job of the one lifecycle (:mod:`jobs.lifecycle`, type :data:`MAIL`):
``queued -> sending -> sent | skipped | failed``. :func:`mails_queue` writes the rows in the
caller's transaction and publishes their messages after it commits; the
``send_notification_mail`` task (queue ``notifications``) claims a row under its lock and
sends it (:func:`mail_send`), checking the recipient's preference then, so turning a topic
off takes effect for mails still queued. An SMTP or network failure tries again with
backoff while attempts are left (``MAIL_MAX_ATTEMPTS``); a message that was lost is sent
again by :mod:`jobs.republish`, and the claim makes sure a mail goes out once.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import timezone

from jobs import lifecycle
from jobs.holders import when_holder_lost

from .job_types import MAIL
from .models import OPT_IN, MailDelivery, MailStatus, NotificationPreference, Topic
from .publishing import site_url

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "notifications.unsubscribe"
ALL_TOPICS = "all"


def mails_queue(*, topic: str, user_ids: Iterable[int], subject: str, body: str) -> int:
    """Queue one mail of topic ``topic`` per user, in the caller's transaction; their messages
    go out after it commits. Returns how many."""
    ids = sorted(set(user_ids))
    now = timezone.now()
    mails = MailDelivery.objects.bulk_create(
        MailDelivery(
            user_id=user_id, topic=topic, subject=subject[:250], body=body, status_changed_at=now
        )
        for user_id in ids
    )
    for mail in mails:
        lifecycle.publish_job_after_commit(job_type=MAIL, pk=mail.pk)
    return len(mails)


def unsubscribe_token(*, user_id: int, topic: str) -> str:
    return signing.dumps({"u": user_id, "k": topic}, salt=UNSUBSCRIBE_SALT, compress=True)


def mail_message_id(*, mail_pk: int) -> str:
    """The ``Message-ID`` of mail ``mail_pk``: the same on every try, so a receiver that got
    it twice (a worker lost between the server's answer and the row's update, so the mail
    went out again) sees one message (RFC 5322 §3.6.4: unique per site by its host name)."""
    host = urlsplit(site_url()).hostname or "challenge-platform.invalid"
    return f"<notification-{mail_pk}@{host}>"


def mail_send(
    *, user_id: int, topic: str, subject: str, body: str, message_id: str = ""
) -> bool:
    """Send one notification mail now; False when not wanted or no address.

    Every mail carries an unsubscribe link for its topic, and ``List-Unsubscribe`` with
    ``List-Unsubscribe-Post`` (RFC 8058 one-click) headers; ``message_id`` (a mail job's
    :func:`mail_message_id`) is kept across tries. SMTP errors propagate (the job tries
    again).
    """
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return False
    pref = NotificationPreference.objects.filter(user_id=user_id).first()
    if not (pref.wants(topic) if pref else topic not in OPT_IN):
        return False
    link = site_url(
        path=reverse(
            "notifications:unsubscribe", args=[unsubscribe_token(user_id=user_id, topic=topic)]
        )
    )
    label = Topic(topic).label if topic in Topic.values else topic
    every = site_url(
        path=reverse(
            "notifications:unsubscribe", args=[unsubscribe_token(user_id=user_id, topic=ALL_TOPICS)]
        )
    )
    footer = (
        f"\n\n--\nYou receive this because of your notification settings ({label}).\n"
        f"Unsubscribe from these mails with one click: {link}\n"
        f"Unsubscribe from every notification mail: {every}\n"
        f"All your notification settings: {site_url(path=reverse('notifications:settings'))}\n"
    )
    prefix = getattr(settings, "EMAIL_SUBJECT_PREFIX_NOTIFICATIONS", "[Challenge] ")
    message = EmailMessage(
        subject=(prefix + subject)[:250],
        body=body + footer,
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Notification-Kind": topic,
            **({"Message-ID": message_id} if message_id else {}),
        },
    )
    message.send(fail_silently=False)
    logger.info("mailed %s (%s) to user %s", subject, topic, user_id)
    return True


@when_holder_lost(job_type=MAIL)
def _decide_lost(mail: MailDelivery, now: datetime) -> tuple[str, dict[str, Any]]:
    """A mail whose worker died while sending it: sent again while attempts are left (its
    recipient may get it twice if the server had taken it: a mail is not lost)."""
    error = "the worker was lost while sending this mail"
    if lifecycle.attempts_left(job_type=MAIL, job=mail) > 0:
        return lifecycle.REQUEUED, {"error": error}
    return lifecycle.FAILED, {"error": f"{error}; gave up after {mail.attempts} tries"}


def _gave_up(mail: MailDelivery, now: datetime) -> dict[str, Any]:
    return {"error": f"gave up after {mail.attempts} tries: {mail.error}"[:500]}


def mail_deliver(*, mail_pk: int, delivery_id: str | None = None) -> str:
    """Send mail ``mail_pk`` once (the task's body); on an SMTP or network failure, try again
    later while attempts are left. Returns the status reached, ``"skipped"`` (nothing to do:
    sent, held by another delivery, not due) or ``"superseded"``."""
    token = delivery_id or uuid.uuid4().hex
    mail = lifecycle.job_claim(
        job_type=MAIL, pk=mail_pk, token=token, delivery_id=delivery_id, exhausted=_gave_up
    )
    if mail is None:
        return "skipped"

    def finish(status: str, **fields: Any) -> str:
        done = lifecycle.job_transition(
            job_type=MAIL, pk=mail.pk, token=token, status=status, **fields
        )
        return status if done else "superseded"

    try:
        sent = mail_send(
            user_id=mail.user_id,
            topic=mail.topic,
            subject=mail.subject,
            body=mail.body,
            message_id=mail_message_id(mail_pk=mail.pk),
        )
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        logger.warning("mail %s to user %s: %s", mail.pk, mail.user_id, error)
        return lifecycle.job_retry_or_fail(
            job_type=MAIL,
            job=mail,
            token=token,
            fail=lambda: finish(MailStatus.FAILED, error=error),
            error=error,
        )
    return finish(MailStatus.SENT if sent else MailStatus.SKIPPED, error="")
