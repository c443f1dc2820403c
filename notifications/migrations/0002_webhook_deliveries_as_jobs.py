"""Webhook deliveries become jobs of the one lifecycle (``challenge_platform.jobs``).

A token names the broker message whose worker holds a row while sending, and a status
change time lets the sweeper find stale rows. Statuses take the lifecycle's words:
``pending`` (waiting for its first or next try) is ``queued``. A row left ``sending`` by
the old code has no token any worker could present, so it goes back to ``queued`` at once
(the sweeper publishes it); its receiver may see that try again and deduplicates on
``X-Webhook-Delivery``, as after any lost worker.
"""

from django.db import migrations, models
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone


def to_lifecycle(apps, schema_editor):
    Delivery = apps.get_model("notifications", "WebhookDelivery")
    Delivery.objects.filter(status="sending").update(
        status="queued",
        next_attempt_at=timezone.now(),
        last_error="interrupted by an upgrade while sending; sent again",
    )
    Delivery.objects.filter(status="pending").update(status="queued")
    Delivery.objects.filter(status_changed_at__isnull=True).update(
        status_changed_at=Coalesce(F("delivered_at"), F("last_attempt_at"), F("created_at"))
    )


def from_lifecycle(apps, schema_editor):
    Delivery = apps.get_model("notifications", "WebhookDelivery")
    Delivery.objects.filter(status__in=["queued", "sending"]).update(status="pending")


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_notifications_announcements_webhooks"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="webhookdelivery",
            name="webhook_delivery_status_valid",
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="status_changed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="delivery_token",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="tries",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AlterField(
            model_name="webhook",
            name="secret",
            field=models.CharField(
                help_text="Signs each try: X-Signature-256: sha256=<HMAC-SHA256 of "
                "'<X-Signature-Timestamp>.<body>'>. Write-only in the console.",
                max_length=200,
            ),
        ),
        migrations.AlterField(
            model_name="webhookdelivery",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("sending", "Sending"),
                    ("delivered", "Delivered"),
                    ("failed", "Failed"),
                ],
                default="queued",
                max_length=16,
            ),
        ),
        migrations.RunPython(to_lifecycle, from_lifecycle),
        # The status check comes back in 0003: PostgreSQL refuses to alter a table in the
        # transaction that just updated its rows ("pending trigger events").
    ]
