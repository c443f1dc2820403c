"""The data migration that makes the old baseline runs algorithm runs (algorithms 0003).

A database migrated to the state before it (the old ``baselines`` app's table, with runs in
every status, their artifacts, a submission, permissions) migrates forward: every row becomes
an AlgorithmRun of the baseline profile, and the old table, its migration record, content
type and permissions are gone, their grants carried to the new console's permissions.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from algorithms.models import AlgorithmRun, AlgorithmVersion, BaselineRun
from algorithms.services.builtin import baseline_algorithm_version, baseline_team_get_or_create
from scoring.services.upload import submission_create_for_job
from tests.algorithms_tests import legacy_baselines_migration
from tests.challenges_tests.factories import ChallengeFactory, UserFactory
from tests.scoring_tests.factories import imported_task

BEFORE = ("algorithms", "0002_run_profiles")
AFTER = ("algorithms", "0003_baseline_runs_become_algorithm_runs")
LEGACY_TABLE = "baselines_baselinerun"


def legacy_table(executor: MigrationExecutor):
    """Create the old app's table as its migration did; return its historical model."""
    state = executor.loader.project_state([BEFORE])
    after = state.clone()
    (create,) = legacy_baselines_migration.Migration.operations
    create.state_forwards("baselines", after)
    with connection.schema_editor() as editor:
        create.database_forwards("baselines", editor, state, after)
    MigrationRecorder(connection).record_applied("baselines", "0001_initial")
    return after.apps.get_model("baselines", "BaselineRun")


def legacy_permissions() -> tuple[Permission, Group, object]:
    """The old console's permissions, granted to a group and to a user."""
    old = ContentType.objects.create(app_label="baselines", model="baselinerun")
    change = Permission.objects.create(
        content_type=old, codename="change_baselinerun", name="Can change baseline run"
    )
    Permission.objects.create(
        content_type=old, codename="view_baselinerun", name="Can view baseline run"
    )
    group = Group.objects.create(name="baseline operators")
    group.permissions.add(change)
    user = UserFactory(is_staff=True)
    user.user_permissions.add(change)
    return change, group, user


@pytest.mark.django_db(transaction=True)
def test_old_baseline_runs_become_algorithm_runs_of_the_baseline_profile(tmp_path: Path) -> None:
    challenge, lonely = ChallengeFactory(), ChallengeFactory()
    task = imported_task(tmp_path, challenge=challenge, slug="old-cls")
    other = imported_task(tmp_path, challenge=lonely, slug="lonely-cls")
    version = baseline_algorithm_version(challenge=challenge)  # what a run since issue 11 used
    baseline_team_get_or_create(challenge=lonely)  # runs before issue 11: no version at all
    predictions = tmp_path / "predictions.csv"
    predictions.write_text("id,label\nt0000,bird\n")
    submission = submission_create_for_job(
        task=task, team=version.algorithm.team, predictions=predictions, note="old", name="old"
    )
    storage = AlgorithmRun._meta.get_field("predictions").storage
    leaderboard = storage.save("baselines/old-cls/run-1/leaderboard.csv", ContentFile(b"model\n"))
    fit_log = storage.save("baselines/old-cls/run-1/fit.log", ContentFile(b"fitting\n"))
    long_ago = timezone.now() - timedelta(days=3)

    executor = MigrationExecutor(connection)
    try:
        executor.migrate([BEFORE])  # the schema as it was before the data migration
        Legacy = legacy_table(executor)
        change, group, user = legacy_permissions()
        budget = {"presets": "medium_quality", "time_limit": 30, "hard_timeout": 180}

        def legacy(status: str, on=task, **fields):
            row = Legacy.objects.create(task_id=on.pk, status=status, **budget, **fields)
            Legacy.objects.filter(pk=row.pk).update(created_at=long_ago)
            return row.pk

        old = {
            "succeeded": legacy(
                "succeeded",
                message="AutoGluon medium_quality, 42 s; best model LightGBM",
                log_tail="fit log tail",
                elapsed=41.5,
                started_at=long_ago,
                finished_at=long_ago + timedelta(seconds=42),
                status_changed_at=long_ago + timedelta(seconds=42),
                worker_hostname="baselines@host",
                worker_pid=123,
                runner_pid=456,
                submission_id=submission.pk,
                leaderboard_csv=leaderboard,
                fit_log=fit_log,
                validation_score=0.75,
                best_model="LightGBM",
                result={
                    "kind": "classification",
                    "validation_score": 0.75,
                    "algorithm": {"version_id": version.pk, "version": version.number},
                    "sandbox": {"peak_memory_mb": 512.0, "cpu_seconds": 80.0},
                },
            ),
            "timed_out": legacy(
                "timed_out",
                message="baseline exceeded its hard timeout of 180 s",
                elapsed=180.2,
                started_at=long_ago,
                finished_at=long_ago + timedelta(seconds=181),
            ),
            "failed": legacy("failed", message="out of memory", finished_at=long_ago),
            "cancelled": legacy("cancelled", message="cancelled before a worker started it"),
            "running": legacy("running", started_at=long_ago, delivery_id="gone"),
            "queued": legacy("queued", on=other),
        }
        executor.loader.build_graph()
        executor.migrate([AFTER])
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    runs = {
        run.result["migrated_from"]["baseline_run"]: run
        for run in AlgorithmRun.objects.select_related("version__algorithm__team")
    }
    assert sorted(runs) == sorted(old.values())
    assert {run.profile for run in runs.values()} == {"baseline"}
    assert BaselineRun.objects.count() == len(old)

    done = runs[old["succeeded"]]
    assert (done.status, done.error, done.limit_hit) == ("succeeded", "", "")
    assert done.version == version and done.submission_id == submission.pk
    assert done.options == budget and done.limits == {"wall_seconds": 180}
    assert (done.seconds, done.log_tail, done.runner_pid) == (41.5, "fit log tail", 456)
    assert (done.worker_hostname, done.worker_pid) == ("baselines@host", 123)
    assert done.created_at == long_ago and done.finished_at == long_ago + timedelta(seconds=42)
    assert done.artifacts == {"leaderboard.csv": leaderboard, "fit.log": fit_log}
    assert storage.open(done.artifacts["fit.log"]).read() == b"fitting\n"
    assert done.result["best_model"] == "LightGBM" and done.result["validation_score"] == 0.75
    assert (done.backend, done.peak_memory_mb, done.cpu_seconds) == ("bubblewrap", 512.0, 80.0)
    assert submission.__class__.objects.get(pk=submission.pk).algorithm_run == done

    timed_out = runs[old["timed_out"]]
    assert (timed_out.status, timed_out.limit_hit) == ("failed", "wall_seconds")
    assert timed_out.error == "baseline exceeded its hard timeout of 180 s"
    assert timed_out.seconds == 180.2
    failed, cancelled = runs[old["failed"]], runs[old["cancelled"]]
    assert (failed.status, failed.error) == ("failed", "out of memory")
    assert (cancelled.status, cancelled.error) == (
        "cancelled",
        "cancelled before a worker started it",
    )
    # Runs in flight cannot be resumed (their messages and code are gone): ended, and said so.
    running, queued = runs[old["running"]], runs[old["queued"]]
    assert running.status == "failed" and "upgraded" in running.error
    assert queued.status == "cancelled" and "queue it again" in queued.error
    assert running.finished_at and queued.finished_at and not running.claim_token
    # Without a version named (runs before issue 11), the challenge's latest baseline version;
    # a challenge without any gets a placeholder that never runs.
    assert runs[old["failed"]].version == version
    placeholder = queued.version
    assert placeholder.algorithm.team.is_baseline and placeholder.algorithm.challenge == lonely
    assert placeholder.archive.name == "" and placeholder.archive_sha256 == ""
    assert "never runs" in placeholder.description
    assert baseline_algorithm_version(challenge=lonely).number == 2  # the real one follows

    # The old app leaves nothing behind; who could operate its console still can.
    assert LEGACY_TABLE not in connection.introspection.table_names()
    assert not MigrationRecorder(connection).migration_qs.filter(app="baselines").exists()
    assert not ContentType.objects.filter(app_label="baselines").exists()
    assert not Permission.objects.filter(pk=change.pk).exists()
    user.refresh_from_db()
    assert user.has_perm("algorithms.change_baselinerun")
    assert group.permissions.filter(codename="change_baselinerun").get().content_type == (
        ContentType.objects.get_for_model(BaselineRun, for_concrete_model=False)
    )
    assert AlgorithmVersion.objects.filter(algorithm__challenge=lonely).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_database_made_after_the_app_was_removed_has_nothing_to_move() -> None:
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([BEFORE])
        executor.loader.build_graph()
        executor.migrate([AFTER])
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert LEGACY_TABLE not in connection.introspection.table_names()
    assert not AlgorithmRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_organizer_runs_keep_their_profile_across_the_schema_migration(tmp_path: Path) -> None:
    """algorithms 0002: the old ``is_organizer_run`` flag becomes the ``organizer`` profile."""
    task = imported_task(tmp_path)
    version = baseline_algorithm_version(challenge=task.track.challenge)
    executor = MigrationExecutor(connection)
    first = ("algorithms", "0001_algorithms_versions_runs")
    try:
        executor.migrate([first])
        Run = executor.loader.project_state([first]).apps.get_model("algorithms", "AlgorithmRun")
        organizer = Run.objects.create(
            version_id=version.pk, task_id=task.pk, is_organizer_run=True
        )
        team = Run.objects.create(version_id=version.pk, task_id=task.pk)
        executor.loader.build_graph()
        executor.migrate([BEFORE])
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert AlgorithmRun.objects.get(pk=organizer.pk).profile == "organizer"
    assert AlgorithmRun.objects.get(pk=organizer.pk).is_organizer_run
    assert AlgorithmRun.objects.get(pk=team.pk).profile == "team"
