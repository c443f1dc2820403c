"""The status check of webhook deliveries, with the lifecycle's statuses (after 0002 mapped
the rows, in a transaction of its own)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_webhook_deliveries_as_jobs"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="webhookdelivery",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["queued", "sending", "delivered", "failed"])),
                name="webhook_delivery_status_valid",
            ),
        ),
    ]
