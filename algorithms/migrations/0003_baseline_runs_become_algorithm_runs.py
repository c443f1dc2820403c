# The baseline is an algorithm run: the rows of the old ``scoring.baselines`` app (table
# ``baselines_baselinerun``, app label ``baselines``) become AlgorithmRun rows of the baseline
# profile, then the old table, its migration records, content type and permissions go.
#
# The app no longer exists, so its table is read through a model declared here, in a
# registry of its own (the table's columns as the app's last migration left them). A
# database created after the app was removed has no such table: nothing to do.
#
# Statuses: queued/running rows cannot be resumed (their messages name the old rows and their
# code is gone), so they end cancelled/failed with a message saying so; ``timed_out`` becomes
# ``failed`` with ``limit_hit="wall_seconds"``. Messages, log tail, elapsed seconds, the
# submission link, the artifacts (leaderboard.csv, fit.log: the stored files stay where they
# are) and result.json are kept; each run records its old id (``result["migrated_from"]``),
# which the append-only audit log still names. The version a run used is the one its
# result.json names, else the baseline algorithm's latest, else a placeholder version
# without an archive (it never runs: the next baseline queued stores the real one).

from django.apps.registry import Apps
from django.conf import settings
from django.db import migrations, models
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from challenges.team_names import team_name_key

LEGACY_APP = "baselines"
LEGACY_TABLE = "baselines_baselinerun"
BASELINE_NAME = "AutoGluon baseline"
PLACEHOLDER = (
    "Recorded by the upgrade that made baseline runs algorithm runs: the baseline runs made "
    "before the baseline was stored as an algorithm version. Its archive was not kept; it "
    "never runs."
)
UPGRADE_QUEUED = (
    "cancelled by the upgrade that made baseline runs algorithm runs, before a worker started "
    "it; queue it again"
)
UPGRADE_RUNNING = (
    "The platform was upgraded (baseline runs became algorithm runs) while this baseline ran; "
    "its result was not recorded. Use 'Run baseline again'."
)
PERMISSIONS = ("add", "change", "delete", "view")


def legacy_model():
    registry = Apps()

    class Meta:
        app_label = LEGACY_APP
        db_table = LEGACY_TABLE
        managed = False
        apps = registry

    fields = {
        "id": models.BigAutoField(primary_key=True),
        "task_id": models.BigIntegerField(),
        "status": models.CharField(max_length=16),
        "presets": models.CharField(max_length=40),
        "time_limit": models.PositiveIntegerField(),
        "hard_timeout": models.PositiveIntegerField(),
        "created_at": models.DateTimeField(),
        "status_changed_at": models.DateTimeField(null=True),
        "started_at": models.DateTimeField(null=True),
        "finished_at": models.DateTimeField(null=True),
        "heartbeat_at": models.DateTimeField(null=True),
        "elapsed": models.FloatField(null=True),
        "message": models.TextField(),
        "log_tail": models.TextField(),
        "worker_hostname": models.CharField(max_length=255),
        "worker_pid": models.IntegerField(null=True),
        "runner_pid": models.IntegerField(null=True),
        "cancel_requested": models.BooleanField(),
        "submission_id": models.BigIntegerField(null=True),
        "leaderboard_csv": models.CharField(max_length=300),
        "fit_log": models.CharField(max_length=300),
        "result": models.JSONField(),
        "validation_score": models.FloatField(null=True),
        "best_model": models.CharField(max_length=200),
    }
    return type(
        "LegacyBaselineRun", (models.Model,), {"__module__": __name__, "Meta": Meta, **fields}
    )


def _outcome(row):
    """(status, error, limit_hit) of an old row."""
    if row.status == "queued":
        return "cancelled", UPGRADE_QUEUED, ""
    if row.status == "running":
        return "failed", UPGRADE_RUNNING, ""
    if row.status == "timed_out":
        return "failed", row.message or "the baseline exceeded its hard timeout", "wall_seconds"
    if row.status == "succeeded":
        return "succeeded", "", ""
    return row.status, row.message, ""


class Versions:
    """The version each old run is recorded with, per challenge (see the header)."""

    def __init__(self, apps):
        self.Team = apps.get_model("challenges", "Team")
        self.Algorithm = apps.get_model("algorithms", "Algorithm")
        self.AlgorithmVersion = apps.get_model("algorithms", "AlgorithmVersion")
        self.fallback = {}

    def for_row(self, row, challenge_id):
        named = (row.result or {}).get("algorithm") if isinstance(row.result, dict) else None
        version_id = named.get("version_id") if isinstance(named, dict) else None
        if isinstance(version_id, int):
            version = self.AlgorithmVersion.objects.filter(
                pk=version_id,
                algorithm__challenge_id=challenge_id,
                algorithm__team__is_baseline=True,
            ).first()
            if version is not None:
                return version
        if challenge_id not in self.fallback:
            self.fallback[challenge_id] = self._latest_or_placeholder(challenge_id)
        return self.fallback[challenge_id]

    def _latest_or_placeholder(self, challenge_id):
        team = self.Team.objects.filter(challenge_id=challenge_id, is_baseline=True).first()
        if team is None:
            team = self._baseline_team(challenge_id)
        algorithm, _ = self.Algorithm.objects.get_or_create(
            challenge_id=challenge_id, team=team, name=BASELINE_NAME
        )
        latest = (
            self.AlgorithmVersion.objects.filter(algorithm=algorithm).order_by("-number").first()
        )
        if latest is not None:
            return latest
        return self.AlgorithmVersion.objects.create(
            algorithm=algorithm,
            number=1,
            archive="",
            archive_sha256="",
            archive_size=0,
            description=PLACEHOLDER,
            entrypoint="main.py",
            created_by=None,
        )

    def _baseline_team(self, challenge_id):
        taken = set(
            self.Team.objects.filter(challenge_id=challenge_id).values_list("name_key", flat=True)
        )
        for name in (BASELINE_NAME, f"{BASELINE_NAME} (built-in)", f"{BASELINE_NAME} (migrated)"):
            if team_name_key(name=name) not in taken:
                return self.Team.objects.create(
                    challenge_id=challenge_id,
                    name=name,
                    name_key=team_name_key(name=name),
                    is_baseline=True,
                )
        raise RuntimeError(f"challenge {challenge_id}: no free name for its baseline team")


def _result(row):
    result = dict(row.result) if isinstance(row.result, dict) else {}
    if row.validation_score is not None:
        result.setdefault("validation_score", row.validation_score)
    if row.best_model:
        result.setdefault("best_model", row.best_model)
    result["migrated_from"] = {"baseline_run": row.pk}
    return result


def copy_baseline_runs(apps, schema_editor):
    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return  # a database made after the baselines app was removed
    alias = connection.alias
    Legacy = legacy_model()
    Task = apps.get_model("datasets", "Task")
    AlgorithmRun = apps.get_model("algorithms", "AlgorithmRun")
    versions = Versions(apps)
    challenge_of = dict(Task.objects.using(alias).values_list("pk", "track__challenge_id"))
    linked = set(
        AlgorithmRun.objects.using(alias)
        .exclude(submission_id=None)
        .values_list("submission_id", flat=True)
    )
    now = timezone.now()
    for row in Legacy.objects.using(alias).order_by("pk").iterator():
        if row.task_id not in challenge_of:
            continue  # its task is gone (the foreign key cascaded; never reached)
        status, error, limit_hit = _outcome(row)
        ended_by_upgrade = row.status in ("queued", "running")
        changed = now if ended_by_upgrade else row.status_changed_at
        result = _result(row)
        sandbox = result.get("sandbox") if isinstance(result.get("sandbox"), dict) else {}
        submission_id = row.submission_id if row.submission_id not in linked else None
        linked.add(submission_id)
        artifacts = {
            name: stored
            for name, stored in (("leaderboard.csv", row.leaderboard_csv), ("fit.log", row.fit_log))
            if stored
        }
        run = AlgorithmRun.objects.using(alias).create(
            version=versions.for_row(row, challenge_of[row.task_id]),
            task_id=row.task_id,
            profile="baseline",
            status=status,
            status_changed_at=changed,
            started_at=row.started_at,
            finished_at=now if ended_by_upgrade else row.finished_at,
            heartbeat_at=row.heartbeat_at,
            run_token="",
            attempts=1 if row.started_at else 0,
            cancel_requested=row.cancel_requested,
            worker_hostname=row.worker_hostname,
            worker_pid=row.worker_pid,
            runner_pid=row.runner_pid,
            options={
                "presets": row.presets,
                "time_limit": row.time_limit,
                "hard_timeout": row.hard_timeout,
            },
            error=error,
            log_tail=row.log_tail,
            backend="bubblewrap" if sandbox else "",
            limits={"wall_seconds": row.hard_timeout},
            limit_hit=limit_hit,
            seconds=row.elapsed,
            cpu_seconds=sandbox.get("cpu_seconds"),
            peak_memory_mb=sandbox.get("peak_memory_mb"),
            submission_id=submission_id,
            result=result,
            artifacts=artifacts,
        )
        # created_at is auto_now_add: set it to the old run's afterwards.
        AlgorithmRun.objects.using(alias).filter(pk=run.pk).update(created_at=row.created_at)
    _move_permissions(apps, alias)
    schema_editor.execute(
        schema_editor.sql_delete_table % {"table": schema_editor.quote_name(LEGACY_TABLE)}
    )
    MigrationRecorder(connection).migration_qs.filter(app=LEGACY_APP).delete()


def _move_permissions(apps, alias):
    """Who could see or operate the old baseline runs may do the same on the new view of
    them (the proxy ``algorithms.BaselineRun``); then the old content type goes (with its
    permissions)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    old = ContentType.objects.using(alias).filter(app_label=LEGACY_APP, model="baselinerun").first()
    if old is None:
        return
    new, _ = ContentType.objects.using(alias).get_or_create(
        app_label="algorithms", model="baselinerun"
    )
    for action in PERMISSIONS:
        codename = f"{action}_baselinerun"
        before = Permission.objects.using(alias).filter(content_type=old, codename=codename).first()
        if before is None:
            continue
        after, _ = Permission.objects.using(alias).get_or_create(
            content_type=new, codename=codename, defaults={"name": f"Can {action} baseline run"}
        )
        for group in Group.objects.using(alias).filter(permissions=before):
            group.permissions.add(after)
        for user in User.objects.using(alias).filter(user_permissions=before):
            user.user_permissions.add(after)
    ContentType.objects.using(alias).filter(app_label=LEGACY_APP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("algorithms", "0002_run_profiles"),
        ("challenges", "0005_team_name_key"),  # the baseline team's name_key
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),  # log entries of the content type
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Backwards: the runs stay algorithm runs (the old app and its table are gone).
        migrations.RunPython(copy_baseline_runs, migrations.RunPython.noop),
    ]
