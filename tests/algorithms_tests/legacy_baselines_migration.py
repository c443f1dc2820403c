"""The last (and only) migration of the removed baselines app (label ``baselines``), as it
created the table ``baselines_baselinerun``: what a database migrated before the baseline
became an algorithm run holds. Test data only (test_migration_baseline_runs.py); the app's
own ``artifact_path`` is gone, so ``upload_to`` points at a stand-in (it names no column and
changes nothing in the table)."""

import django.db.models.deletion
from django.db import migrations, models

import datasets.models


def artifact_path(instance, filename):
    return f"baselines/{instance.task.slug}/run-{instance.pk}/{filename}"


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("datasets", "0001_initial"),
        ("scoring", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="BaselineRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("succeeded", "Succeeded"),
                            ("failed", "Failed"),
                            ("timed_out", "Timed out"),
                            ("cancelled", "Cancelled"),
                        ],
                        db_index=True,
                        default="queued",
                        max_length=16,
                    ),
                ),
                ("presets", models.CharField(max_length=40)),
                (
                    "time_limit",
                    models.PositiveIntegerField(help_text="AutoGluon's fit budget, seconds."),
                ),
                (
                    "hard_timeout",
                    models.PositiveIntegerField(
                        help_text="Wall-clock bound of the whole run (imports, features, fit, "
                        "predict), "
                        "seconds."
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("status_changed_at", models.DateTimeField(blank=True, null=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                (
                    "elapsed",
                    models.FloatField(
                        blank=True, help_text="Seconds the AutoGluon runner process ran.", null=True
                    ),
                ),
                ("message", models.TextField(blank=True)),
                ("log_tail", models.TextField(blank=True, help_text="The last few KB of fit.log.")),
                ("delivery_id", models.CharField(blank=True, editable=False, max_length=64)),
                ("worker_hostname", models.CharField(blank=True, max_length=255)),
                ("worker_pid", models.IntegerField(blank=True, null=True)),
                (
                    "runner_pid",
                    models.IntegerField(
                        blank=True,
                        help_text="The AutoGluon process (leader of its process group).",
                        null=True,
                    ),
                ),
                ("cancel_requested", models.BooleanField(default=False)),
                (
                    "leaderboard_csv",
                    models.FileField(
                        blank=True,
                        max_length=300,
                        storage=datasets.models.private_storage,
                        upload_to=artifact_path,
                    ),
                ),
                (
                    "fit_log",
                    models.FileField(
                        blank=True,
                        max_length=300,
                        storage=datasets.models.private_storage,
                        upload_to=artifact_path,
                    ),
                ),
                (
                    "result",
                    models.JSONField(
                        blank=True, default=dict, help_text="The runner's result.json"
                    ),
                ),
                ("validation_score", models.FloatField(blank=True, null=True)),
                ("best_model", models.CharField(blank=True, max_length=200)),
                (
                    "submission",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="baseline_runs",
                        to="scoring.submission",
                    ),
                ),
                (
                    "task",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="baseline_runs",
                        to="datasets.task",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["status", "status_changed_at"], name="baselines_b_status_eac1d8_idx"
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status__in", ["queued", "running"])),
                        fields=("task",),
                        name="one_active_baseline_run_per_task",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "status__in",
                                [
                                    "queued",
                                    "running",
                                    "succeeded",
                                    "failed",
                                    "timed_out",
                                    "cancelled",
                                ],
                            )
                        ),
                        name="baseline_run_status_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("time_limit__gte", 1), ("hard_timeout__gt", models.F("time_limit"))
                        ),
                        name="baseline_run_limits_valid",
                    ),
                ],
            },
        ),
    ]
