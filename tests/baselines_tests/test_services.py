"""Baseline services with a database and the real broker, without a worker."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from base64 import b64decode
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from algorithms.models import Algorithm
from algorithms.services.baseline import (
    baseline_algorithm_version,
    baseline_archive,
    baseline_run_execute,
)
from algorithms.services.taskfolder import task_folder_write
from challenge_platform.models import Team
from scoring.baselines import services
from scoring.baselines.autogluon_baseline import features
from scoring.baselines.models import BaselineRun, BaselineRunStatus
from scoring.baselines.services import (
    BaselineRunRefused,
    baseline_run_cancel,
    baseline_run_queue,
    baseline_runs_sweep,
    baseline_team_get_or_create,
    baselines_queue_for_challenge,
    execute,
    outcome,
)
from tests.scoring_tests.factories import TeamFactory, imported_task

pytestmark = pytest.mark.django_db


def published_runs(redis_client) -> list[int]:
    """The run ids of the ``run_baseline`` messages waiting in the ``baselines`` queue."""
    pks = []
    for raw in redis_client.lrange("baselines", 0, -1):
        message = json.loads(raw)
        assert message["headers"]["task"] == "algorithms.tasks.run_baseline"
        _args, kwargs, _embed = json.loads(b64decode(message["body"]))
        pks.append(kwargs["run_pk"])
    return sorted(pks)


def make_run(task, **fields) -> BaselineRun:
    defaults = {"presets": "medium_quality", "time_limit": 30, "hard_timeout": 180}
    return BaselineRun.objects.create(task=task, **{**defaults, **fields})


# --- the baseline team ---------------------------------------------------------------------


def test_the_baseline_team_is_created_once_and_flagged(challenge):
    team = baseline_team_get_or_create(challenge=challenge)
    assert team.is_baseline and team.name == "AutoGluon baseline"
    assert baseline_team_get_or_create(challenge=challenge) == team
    assert Team.objects.filter(challenge=challenge, is_baseline=True).count() == 1


def test_a_participant_team_with_the_name_leaves_the_baseline_a_suffixed_one(challenge):
    TeamFactory(challenge=challenge, name="AutoGluon baseline")
    team = baseline_team_get_or_create(challenge=challenge)
    assert team.is_baseline and team.name == "AutoGluon baseline (built-in)"


# --- queueing ------------------------------------------------------------------------------


def test_queueing_publishes_to_the_baselines_queue_after_commit(
    baseline_broker, classification_task, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = baseline_run_queue(task=classification_task, time_limit=20)
    assert published_runs(baseline_broker) == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert published_runs(baseline_broker) == [run.pk]
    assert baseline_broker.llen("scoring") == 0
    assert run.status == BaselineRunStatus.QUEUED
    assert (run.presets, run.time_limit, run.hard_timeout) == ("medium_quality", 20, 160)
    assert Team.objects.filter(challenge=classification_task.track.challenge, is_baseline=True)


def test_defaults_come_from_the_settings(classification_task, settings):
    run = baseline_run_queue(task=classification_task)
    assert run.time_limit == settings.BASELINE_TIME_LIMIT
    assert run.presets == settings.BASELINE_PRESETS
    assert run.time_limit < run.hard_timeout <= services.max_hard_timeout()
    assert services.max_hard_timeout() < services.worker_soft_time_limit()
    assert services.worker_soft_time_limit() < services.worker_hard_time_limit()


def test_a_second_run_is_refused_while_one_is_active(classification_task):
    first = baseline_run_queue(task=classification_task)
    with pytest.raises(BaselineRunRefused) as refused:
        baseline_run_queue(task=classification_task)
    assert f"already has a baseline queued (run #{first.pk})" in refused.value.message
    BaselineRun.objects.filter(pk=first.pk).update(status=BaselineRunStatus.RUNNING)
    with pytest.raises(BaselineRunRefused, match="running"):
        baseline_run_queue(task=classification_task)
    BaselineRun.objects.filter(pk=first.pk).update(status=BaselineRunStatus.FAILED)
    assert baseline_run_queue(task=classification_task).pk != first.pk


def test_the_database_allows_one_active_run_per_task(classification_task):
    make_run(classification_task, status=BaselineRunStatus.RUNNING)
    make_run(classification_task, status=BaselineRunStatus.SUCCEEDED)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_run(classification_task, status=BaselineRunStatus.QUEUED)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"presets": "fastest_please"}, "Unknown AutoGluon presets"),
        ({"time_limit": 0}, "at least 1 second"),
        ({"time_limit": 100_000}, "does not fit the baseline worker's limits"),
        ({"time_limit": 30, "hard_timeout": 30}, "must be above the time limit"),
    ],
)
def test_limits_that_do_not_fit_are_refused(classification_task, kwargs, reason):
    with pytest.raises(BaselineRunRefused, match=reason):
        baseline_run_queue(task=classification_task, **kwargs)
    assert not BaselineRun.objects.exists()


def test_queue_for_challenge_skips_tasks_with_a_succeeded_or_active_run(tmp_path, challenge):
    done, busy, failed, fresh = (
        imported_task(tmp_path, kind="classification", challenge=challenge, slug=slug)
        for slug in ("done", "busy", "failed", "fresh")
    )
    make_run(done, status=BaselineRunStatus.SUCCEEDED)
    make_run(busy, status=BaselineRunStatus.RUNNING)
    make_run(failed, status=BaselineRunStatus.FAILED)
    other = imported_task(tmp_path, kind="matching", slug="elsewhere")  # another challenge

    queued = baselines_queue_for_challenge(challenge=challenge)
    assert sorted(run.task.slug for run in queued) == ["failed", "fresh"]
    assert baselines_queue_for_challenge(challenge=challenge) == []  # idempotent
    assert not other.baseline_runs.exists()


# --- cancelling ----------------------------------------------------------------------------


def test_a_queued_run_is_cancelled_at_once_and_never_runs(classification_task):
    run = baseline_run_queue(task=classification_task)
    run = baseline_run_cancel(run=run)
    assert run.status == BaselineRunStatus.CANCELLED
    assert run.message == "cancelled before a worker started it"
    assert run.finished_at is not None
    assert baseline_run_execute(run_pk=run.pk, delivery_id="d1") == "skipped"
    run.refresh_from_db()
    assert run.status == BaselineRunStatus.CANCELLED and run.started_at is None


def test_a_running_run_is_flagged_for_its_task_to_stop(classification_task):
    run = make_run(classification_task, status=BaselineRunStatus.RUNNING)
    run = baseline_run_cancel(run=run)
    assert run.status == BaselineRunStatus.RUNNING and run.cancel_requested


def test_a_finished_run_cannot_be_cancelled(classification_task):
    run = make_run(classification_task, status=BaselineRunStatus.SUCCEEDED)
    with pytest.raises(BaselineRunRefused, match="already finished"):
        baseline_run_cancel(run=run)


# --- the task folder -------------------------------------------------------------------------


def test_the_baseline_gets_the_same_task_folder_as_any_algorithm(tmp_path, matching_task):
    """The /task of every run (algorithms.services.taskfolder); its images are a folder the
    baseline's features read like the archive they came from."""
    folder = task_folder_write(matching_task, tmp_path / "task")
    assert sorted(p.name for p in folder.iterdir()) == [
        "images",
        "task.json",
        "test.parquet",
        "train.parquet",
    ]
    with matching_task.train_parquet.open("rb") as stored:
        assert (folder / "train.parquet").read_bytes() == stored.read()
    meta = json.loads((folder / "task.json").read_text())
    assert meta["kind"] == "matching" and "split_seed" not in meta
    test = pd.read_parquet(folder / "test.parquet")
    image_column = next(c for c in test.columns if c.startswith("left_") and "image" in c)
    source = features.open_images(folder / "images.zip")
    assert isinstance(source, Path)
    from_folder = features.image_features(test[image_column], source, column="img")
    with matching_task.images_zip.open("rb") as handle, zipfile.ZipFile(handle) as archive:
        from_zip = features.image_features(test[image_column], archive, column="img")
    assert from_folder.notna().all().all()
    pd.testing.assert_frame_equal(from_folder, from_zip)


def test_the_builtin_baseline_version_is_made_once_per_content(tmp_path, challenge, settings):
    first = baseline_algorithm_version(challenge=challenge)
    assert first.algorithm.team.is_baseline and first.algorithm.name == "AutoGluon baseline"
    assert first.number == 1 and first.entrypoint == "main.py" and first.created_by is None
    with first.archive.open("rb") as handle, zipfile.ZipFile(handle) as archive:
        names = set(archive.namelist())
    assert {"algorithm.yaml", "main.py", "autogluon_baseline/runner.py"} <= names
    assert not any("__pycache__" in name for name in names)
    # The same files: the same version (the archive is byte for byte the same).
    assert baseline_archive() == baseline_archive()
    assert baseline_algorithm_version(challenge=challenge).pk == first.pk
    # Changed files (a deploy): the next version.
    changed = tmp_path / "changed"
    shutil.copytree(
        Path(features.__file__).parent, changed, ignore=shutil.ignore_patterns("__pycache__")
    )
    (changed / "README.txt").write_text("changed", encoding="utf-8")
    settings.BASELINE_ALGORITHM_DIR = str(changed)
    second = baseline_algorithm_version(challenge=challenge)
    assert second.number == 2 and second.algorithm_id == first.algorithm_id
    assert Algorithm.objects.filter(challenge=challenge).count() == 1


# --- running: what a worker does, minus the broker -------------------------------------------


def test_a_task_whose_files_are_gone_fails_with_a_reason(classification_task):
    run = baseline_run_queue(task=classification_task, time_limit=10)
    classification_task.train_parquet.storage.delete(classification_task.train_parquet.name)
    assert baseline_run_execute(run_pk=run.pk, delivery_id="d1") == BaselineRunStatus.FAILED
    run.refresh_from_db()
    assert run.status == BaselineRunStatus.FAILED
    assert run.message.startswith("internal error: FileNotFoundError"), run.message
    assert run.worker_pid and run.worker_hostname and run.finished_at
    assert run.submission is None


def test_a_redelivered_message_of_a_dead_worker_marks_its_run_failed(classification_task):
    started = timezone.now() - timedelta(minutes=5)
    run = make_run(
        classification_task,
        status=BaselineRunStatus.RUNNING,
        delivery_id="delivery-1",
        started_at=started,
    )
    # A duplicate (another delivery) leaves the run to the worker that holds it.
    assert baseline_run_execute(run_pk=run.pk, delivery_id="delivery-2") == "skipped"
    run.refresh_from_db()
    assert run.status == BaselineRunStatus.RUNNING
    # Its own message, redelivered after the worker died: failed, and not re-run.
    assert baseline_run_execute(run_pk=run.pk, delivery_id="delivery-1") == "skipped"
    run.refresh_from_db()
    assert run.status == BaselineRunStatus.FAILED
    assert "stopped unexpectedly" in run.message and "Run baseline again" in run.message
    assert run.delivery_id == ""


def test_a_deleted_run_is_skipped(classification_task):
    run = baseline_run_queue(task=classification_task)
    run.delete()
    assert baseline_run_execute(run_pk=run.pk, delivery_id="d1") == "skipped"


# --- the sweeper ---------------------------------------------------------------------------------


def test_the_sweeper_republishes_stale_queued_runs(
    baseline_broker, tmp_path, challenge, django_capture_on_commit_callbacks
):
    stale_task, fresh_task = (
        imported_task(tmp_path, challenge=challenge, slug=slug) for slug in ("stale", "fresh")
    )
    now = timezone.now()
    long_ago = now - timedelta(seconds=services.queued_stale_seconds() + 5)
    stale = make_run(stale_task, status_changed_at=long_ago)
    make_run(fresh_task, status_changed_at=now)
    with django_capture_on_commit_callbacks(execute=True):
        report = baseline_runs_sweep(now=now)
    assert report.requeued == [stale.pk] and report.failed == []
    assert published_runs(baseline_broker) == [stale.pk]
    stale.refresh_from_db()
    assert stale.status == BaselineRunStatus.QUEUED and stale.status_changed_at == now
    assert baseline_runs_sweep(now=now).requeued == []  # once per stale period


def test_the_sweeper_ends_runs_whose_worker_stopped_beating(tmp_path, challenge):
    quiet, cancelled, alive = (
        imported_task(tmp_path, challenge=challenge, slug=slug)
        for slug in ("quiet", "cancelled", "alive")
    )
    now = timezone.now()
    old = now - timedelta(seconds=services.RUNNING_STALE_SECONDS + 5)
    running = {"status": BaselineRunStatus.RUNNING, "started_at": old, "delivery_id": "x"}
    quiet_run = make_run(quiet, heartbeat_at=old, **running)
    cancelled_run = make_run(cancelled, heartbeat_at=old, cancel_requested=True, **running)
    alive_run = make_run(alive, heartbeat_at=now - timedelta(seconds=3), **running)

    report = baseline_runs_sweep(now=now)
    assert sorted(report.failed) == sorted([quiet_run.pk, cancelled_run.pk])
    for run in (quiet_run, cancelled_run, alive_run):
        run.refresh_from_db()
    assert quiet_run.status == BaselineRunStatus.FAILED
    assert "no heartbeat for 305 s" in quiet_run.message
    assert cancelled_run.status == BaselineRunStatus.CANCELLED
    assert alive_run.status == BaselineRunStatus.RUNNING
    # The worker that held the quiet run cannot record an outcome any more.
    assert (
        services.finish(run=quiet_run, token="x", status="succeeded", message="late")
        == "superseded"
    )


def test_the_watch_stops_the_runner_when_cancelled_or_taken_over(classification_task):
    run = make_run(classification_task, status=BaselineRunStatus.RUNNING, delivery_id="tok")
    watch = execute.BaselineRunWatch(run_pk=run.pk, token="tok")
    watch.line("fitting LightGBM ...")
    watch.last_beat = 0  # due
    assert watch.is_set() is False
    run.refresh_from_db()
    assert run.log_tail == "fitting LightGBM ..." and run.heartbeat_at is not None

    BaselineRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    watch.last_beat = 0
    assert watch.is_set() is True and not watch.lost

    other = execute.BaselineRunWatch(run_pk=run.pk, token="someone-else")
    other.last_beat = 0
    assert other.is_set() is True and other.lost


def test_the_log_tail_keeps_the_last_4_kb():
    watch = execute.BaselineRunWatch(run_pk=0, token="t")
    for i in range(2000):
        watch.line(f"line {i:05d} " + "x" * 40)
    tail = "\n".join(watch.lines)
    assert len(tail.encode()) <= 4096
    assert tail.endswith("line 01999 " + "x" * 40)


def test_the_baseline_submission_file_is_stored_like_an_upload(
    tmp_path, classification_task, django_capture_on_commit_callbacks
):
    run = baseline_run_queue(task=classification_task)
    frame = pd.DataFrame({"id": ["t0000"], "label": ["bird"]})
    path = tmp_path / "predictions.parquet"
    frame.to_parquet(path, index=False)
    run.task = classification_task
    with django_capture_on_commit_callbacks() as published:
        submission = outcome._submit(run=run, predictions=path)
    # Queued through scoring's one path for a job's predictions, published on commit.
    assert submission.status == "queued" and submission.file_format == "parquet"
    assert len(published) == 1
    assert submission.team.is_baseline and submission.uploaded_by is None
    with submission.file.open("rb") as handle:
        assert pd.read_parquet(io.BytesIO(handle.read())).equals(frame)
    assert submission.file.name.startswith(f"submissions/{classification_task.slug}/")


def test_predictions_the_scoring_checks_refuse_fail_the_run_and_submit_nothing(
    tmp_path, classification_task
):
    run = make_run(classification_task, status=BaselineRunStatus.RUNNING, delivery_id="tok")
    path = tmp_path / "predictions.parquet"
    path.write_bytes(b"")
    status = services.finish(
        run=run, token="tok", status=BaselineRunStatus.SUCCEEDED, message="ok", predictions=path
    )
    run.refresh_from_db()
    assert status == run.status == BaselineRunStatus.FAILED
    assert run.message == "the predictions were refused: The file is empty."
    assert run.submission is None and run.delivery_id == ""
