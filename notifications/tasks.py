"""Celery tasks of notifications (queue ``notifications``): thin wrappers over services."""

from __future__ import annotations

import smtplib

from django.db import InterfaceError, OperationalError

from challenge_platform.celery import TemporaryError, platform_task

from . import events, services, webhooks


@platform_task(queue="notifications", soft_time_limit=50, time_limit=60, max_retries=5)
def send_notification_mail(*, user_id: int, kind: str, subject: str, body: str) -> bool:
    """Send one mail; SMTP and database hiccups retry with backoff."""
    try:
        return services.mail_send(user_id=user_id, kind=kind, subject=subject, body=body)
    except (smtplib.SMTPException, OSError, OperationalError, InterfaceError) as exc:
        raise TemporaryError(f"sending the mail failed: {exc}") from exc


@platform_task(queue="notifications", soft_time_limit=30, time_limit=40)
def deliver_webhook(*, delivery_pk: int) -> str:
    """One try of one webhook delivery (the job lifecycle schedules the next on failure).
    A retry of this task keeps its id, so it may take back the row its failed try held."""
    try:
        return webhooks.webhook_deliver(
            delivery_pk=delivery_pk, delivery_id=deliver_webhook.request.id
        )
    except (OperationalError, InterfaceError) as exc:
        raise TemporaryError(f"the database was unavailable: {exc}") from exc


@platform_task(
    queue="notifications",
    soft_time_limit=50,
    time_limit=55,
    every=60.0,
    beat="notifications-tick",
)
def notifications_tick() -> dict[str, object]:
    """Beat, every minute: reveal notices, deadline and write-up reminders, lost deliveries."""
    swept = webhooks.deliveries_sweep()
    return {
        "revealed": events.reveals_check(),
        "reminders": events.deadline_reminders(),
        "webhooks": {"requeued": swept.requeued, "failed": swept.failed},
    }
