"""Celery tasks of notifications (queue ``notifications``): thin wrappers over services.

Only workers, the beat and the reports on running jobs import this module (Celery's
autodiscovery): a publisher sends a task by the name, and to the queue, its app's
``task_names`` declares, so this module imports the services it calls at its top
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Task modules are the
workers'").
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from jobs.celery import TemporaryError, platform_task
from notifications import task_names

from . import events, mail, webhooks


@platform_task(name=task_names.SEND_NOTIFICATION_MAIL, soft_time_limit=50, time_limit=60)
def send_notification_mail(*, mail_pk: int) -> str:
    """Send one mail (a job: :mod:`notifications.mail`); an SMTP failure is tried again by
    the lifecycle with backoff, a database hiccup by Celery."""
    try:
        return mail.mail_deliver(mail_pk=mail_pk, delivery_id=send_notification_mail.request.id)
    except (OperationalError, InterfaceError) as exc:
        raise TemporaryError(f"the database was unavailable: {exc}") from exc


@platform_task(name=task_names.DELIVER_WEBHOOK, soft_time_limit=30, time_limit=40)
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
    name=task_names.NOTIFICATIONS_TICK,
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
