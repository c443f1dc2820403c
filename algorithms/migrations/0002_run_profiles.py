# Every run of every kind becomes an AlgorithmRun with a profile (team, organizer, baseline);
# the baseline's runs move in with 0003.

from django.conf import settings
from django.db import migrations, models


def organizer_flag_to_profile(apps, schema_editor):
    AlgorithmRun = apps.get_model("algorithms", "AlgorithmRun")
    AlgorithmRun.objects.filter(is_organizer_run=True).update(profile="organizer")


def profile_to_organizer_flag(apps, schema_editor):
    AlgorithmRun = apps.get_model("algorithms", "AlgorithmRun")
    AlgorithmRun.objects.filter(profile="organizer").update(is_organizer_run=True)


class Migration(migrations.Migration):
    # Only what it needs: a test that moves another app's migrations back (and forward to a
    # named node) does not take these along.
    dependencies = [
        ("algorithms", "0001_algorithms_versions_runs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="algorithmrun",
            name="profile",
            field=models.CharField(
                db_index=True,
                default="team",
                help_text="Which run profile (algorithms.services.profiles) decides its limits, queue and outcome.",
                max_length=20,
            ),
        ),
        migrations.RunPython(organizer_flag_to_profile, profile_to_organizer_flag),
        migrations.RemoveField(model_name="algorithmrun", name="is_organizer_run"),
        migrations.AddField(
            model_name="algorithmrun",
            name="options",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="The profile's options (the baseline's presets).",
            ),
        ),
        migrations.AddField(
            model_name="algorithmrun",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="algorithmrun",
            name="worker_hostname",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name="algorithmrun",
            name="worker_pid",
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="algorithmrun",
            name="runner_pid",
            field=models.IntegerField(
                blank=True,
                help_text="The sandbox's outer process (leader of its group).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="algorithmrun",
            name="result",
            field=models.JSONField(blank=True, default=dict, help_text="The run's result.json."),
        ),
        migrations.AddField(
            model_name="algorithmrun",
            name="artifacts",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name="algorithmrun",
            name="log_tail",
            field=models.TextField(blank=True, help_text="The last 64 KB of the run's log."),
        ),
        migrations.AddConstraint(
            model_name="algorithmrun",
            constraint=models.UniqueConstraint(
                condition=models.Q(("profile", "baseline"), ("status__in", ["queued", "running"])),
                fields=("task",),
                name="one_active_baseline_algorithm_run_per_task",
            ),
        ),
        migrations.CreateModel(
            name="BaselineRun",
            fields=[],
            options={
                "verbose_name": "baseline run",
                "ordering": ["-created_at", "-id"],
                "proxy": True,
                "default_manager_name": "objects",
                "indexes": [],
                "constraints": [],
            },
            bases=("algorithms.algorithmrun",),
        ),
    ]
