"""The notifications' job types on the one lifecycle (docs/architecture.md, "The job
lifecycle"), registered in ``NotificationsConfig.ready()``: a mail
(``queued -> sending -> sent | skipped | failed``, :mod:`notifications.mail`) and a webhook
delivery (``queued -> sending -> delivered | failed``, :mod:`notifications.webhooks`). Here,
apart from what sends them, so that every process knows the types without importing the
mail and HTTP clients (docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md,
"Registered at start, imported when called")."""

from __future__ import annotations

from django.conf import settings

from jobs import lifecycle
from jobs.registry import JobType

from . import task_names
from .models import DeliveryStatus, MailDelivery, MailStatus, WebhookDelivery

MAIL = JobType(
    model=MailDelivery,
    task_name=task_names.SEND_NOTIFICATION_MAIL,
    pk_kwarg="mail_pk",
    queued=MailStatus.QUEUED,
    running=MailStatus.SENDING,
    final=(MailStatus.SENT, MailStatus.SKIPPED, MailStatus.FAILED),
    failed=MailStatus.FAILED,
    max_attempts=lambda mail: int(settings.MAIL_MAX_ATTEMPTS),
    backoff=lambda attempts: lifecycle.retry_countdown(attempts, base=10.0, cap=600.0),
    label="mail",
    scheduled=True,
)

DELIVERY = JobType(
    model=WebhookDelivery,
    task_name=task_names.DELIVER_WEBHOOK,
    pk_kwarg="delivery_pk",
    queued=DeliveryStatus.QUEUED,
    running=DeliveryStatus.SENDING,
    final=(DeliveryStatus.DELIVERED, DeliveryStatus.FAILED),
    failed=DeliveryStatus.FAILED,
    max_attempts=lambda delivery: int(settings.WEBHOOK_MAX_ATTEMPTS),
    backoff=lambda attempts: lifecycle.retry_countdown(
        attempts,
        base=float(settings.WEBHOOK_RETRY_BASE_SECONDS),
        cap=float(settings.WEBHOOK_RETRY_MAX_SECONDS),
    ),
    label="webhook delivery",
    scheduled=True,
    error_field="last_error",
)
