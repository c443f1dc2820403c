"""The claims table, moved from the challenges app (its rows kept): the state is created
here over the existing table (``challenges_jobclaim``: an older database's
``challenge_platform_jobclaim`` is renamed first by the app label's rename,
docs/decisions/0077-the-challenges-app-label.md), which is then renamed ``jobs_jobclaim``; ``kind`` becomes
``job_type`` (one meaning per word: a task's kind is classification, matching...)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("challenges", "0013_job_claim_moves_to_jobs"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="JobClaim",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("kind", models.CharField(max_length=100)),
                        ("object_id", models.BigIntegerField()),
                        ("token", models.CharField(max_length=64)),
                        ("holder", models.CharField(db_index=True, max_length=255)),
                        ("claimed_at", models.DateTimeField()),
                        ("lost_at", models.DateTimeField(blank=True, null=True)),
                        ("lost_reason", models.TextField(blank=True)),
                    ],
                    options={
                        "db_table": "challenges_jobclaim",
                        "ordering": ["-claimed_at", "-id"],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("lost_at__isnull", True)),
                                fields=("kind", "object_id"),
                                name="job_claim_one_live_per_job",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="JobClaim", table=None),
        migrations.RemoveConstraint(model_name="jobclaim", name="job_claim_one_live_per_job"),
        migrations.RenameField(model_name="jobclaim", old_name="kind", new_name="job_type"),
        migrations.AddConstraint(
            model_name="jobclaim",
            constraint=models.UniqueConstraint(
                condition=models.Q(("lost_at__isnull", True)),
                fields=("job_type", "object_id"),
                name="job_claim_one_live_per_job",
            ),
        ),
    ]
