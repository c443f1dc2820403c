"""Celery tasks of notifications (queue ``notifications``): thin wrappers over services.

Each task imports its service when it first runs: every process imports this module at
start to register the tasks, and only a worker runs them
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Receivers and tasks import
services at call time").
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from jobs.celery import TemporaryError, platform_task
from notifications import task_names


@platform_task(
    name=task_names.SEND_NOTIFICATION_MAIL, queue="notifications", soft_time_limit=50, time_limit=60
)
def send_notification_mail(*, mail_pk: int) -> str:
    """Send one mail (a job: :mod:`notifications.mail`); an SMTP failure is tried again by
    the lifecycle with backoff, a database hiccup by Celery."""
    from . import mail

    try:
        return mail.mail_deliver(mail_pk=mail_pk, delivery_id=send_notification_mail.request.id)
    except (OperationalError, InterfaceError) as exc:
        raise TemporaryError(f"the database was unavailable: {exc}") from exc


@platform_task(
    name=task_names.DELIVER_WEBHOOK, queue="notifications", soft_time_limit=30, time_limit=40
)
def deliver_webhook(*, delivery_pk: int) -> str:
    """One try of one webhook delivery (the job lifecycle schedules the next on failure).
    A retry of this task keeps its id, so it may take back the row its failed try held."""
    from . import webhooks

    try:
        return webhooks.webhook_deliver(
            delivery_pk=delivery_pk, delivery_id=deliver_webhook.request.id
        )
    except (OperationalError, InterfaceError) as exc:
        raise TemporaryError(f"the database was unavailable: {exc}") from exc


@platform_task(
    name=task_names.NOTIFICATIONS_TICK,
    queue="notifications",
    soft_time_limit=50,
    time_limit=55,
    every=60.0,
    beat="notifications-tick",
)
def notifications_tick() -> dict[str, object]:
    """Beat, every minute: reveal notices, deadline and write-up reminders, lost deliveries."""
    from . import events, webhooks

    swept = webhooks.deliveries_sweep()
    return {
        "revealed": events.reveals_check(),
        "reminders": events.deadline_reminders(),
        "webhooks": {"requeued": swept.requeued, "failed": swept.failed},
    }
