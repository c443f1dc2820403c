"""A submission's lifecycle fields are the jobs app's (jobs.models.Job): the claim token has
one name for every job type, and a retry's time is kept on the row (``due_at``)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0005_reference_unusable_reason"),
    ]

    operations = [
        migrations.RenameField(
            model_name="submission", old_name="scoring_token", new_name="claim_token"
        ),
        migrations.AddField(
            model_name="submission",
            name="due_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
