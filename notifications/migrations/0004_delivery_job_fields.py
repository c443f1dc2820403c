"""A webhook delivery's lifecycle fields are the jobs app's (jobs.models.Job): the claim
token has one name for every job type, the last try's start is ``started_at``, the next
try's time ``due_at``, and a delivery that ends says when (``finished_at``)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_webhook_delivery_status_check"),
    ]

    operations = [
        # The index names the renamed column: dropped before the rename, made again after.
        migrations.RemoveIndex(
            model_name="webhookdelivery", name="notificatio_status_d418df_idx"
        ),
        migrations.RenameField(
            model_name="webhookdelivery", old_name="delivery_token", new_name="claim_token"
        ),
        migrations.AlterField(
            model_name="webhookdelivery",
            name="claim_token",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.RenameField(
            model_name="webhookdelivery", old_name="last_attempt_at", new_name="started_at"
        ),
        migrations.RenameField(
            model_name="webhookdelivery", old_name="next_attempt_at", new_name="due_at"
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(fields=["status", "due_at"], name="notificatio_status_e2f770_idx"),
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="finished_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
