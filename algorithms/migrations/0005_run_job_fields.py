"""A run's lifecycle fields are the jobs app's (jobs.models.Job): the claim token has one
name for every job type, and a retry's time is kept on the row (``due_at``)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("algorithms", "0004_living_benchmark"),
    ]

    operations = [
        migrations.RenameField(
            model_name="algorithmrun", old_name="run_token", new_name="claim_token"
        ),
        migrations.AddField(
            model_name="algorithmrun",
            name="due_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
