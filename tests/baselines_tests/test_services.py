"""The baseline profile's services with a database and the real broker, without a worker:
queueing, the one cancel, the one sweeper, the one pipeline's claim and watch."""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from algorithms.builtin.autogluon import features
from algorithms.models import Algorithm, AlgorithmRun, AlgorithmRunStatus, BaselineRun
from algorithms.services import builtin, outcome, runs
from algorithms.services import watch as watch_module
from algorithms.services.baseline import (
    BaselineRunRefused,
    baseline_run_queue,
    baselines_queue_for_challenge,
)
from algorithms.services.builtin import (
    baseline_algorithm_version,
    baseline_archive,
    baseline_team_get_or_create,
)
from algorithms.services.common import AlgorithmRefused
from algorithms.services.execute import algorithm_run_execute as baseline_run_execute
from algorithms.services.profiles import BASELINE
from algorithms.services.runs import algorithm_run_cancel as baseline_run_cancel
from algorithms.services.runs import algorithm_runs_sweep as baseline_runs_sweep
from algorithms.services.taskfolder import task_folder_write
from challenges.models import Team
from jobs.republish import jobs_republish
from tests.scoring_tests.factories import TeamFactory, imported_task
from tests.support.baseline_runs import make_run
from tests.support.broker import queue_length, queued_messages, task_of

pytestmark = pytest.mark.django_db


def published_runs(redis_client) -> list[int]:
    """The run ids of the ``run_baseline`` messages waiting in the ``baselines`` queue."""
    pks = []
    for message in queued_messages(redis_client, "baselines"):
        name, kwargs, _priority = task_of(message)
        assert name == "algorithms.tasks.run_baseline"
        pks.append(kwargs["run_pk"])
    return sorted(pks)


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
    assert queue_length(baseline_broker, "scoring") == 0
    assert run.status == AlgorithmRunStatus.QUEUED and run.profile == "baseline"
    assert run.options == {"presets": "medium_quality", "time_limit": 20, "hard_timeout": 160}
    assert run.limits["wall_seconds"] == 160 and run.limits["memory_mb"] > 0
    assert run.version.algorithm.team.is_baseline
    assert Team.objects.filter(challenge=classification_task.track.challenge, is_baseline=True)


def test_defaults_come_from_the_settings(classification_task, settings):
    run = baseline_run_queue(task=classification_task)
    assert run.options["time_limit"] == settings.BASELINE_TIME_LIMIT
    assert run.options["presets"] == settings.BASELINE_PRESETS
    hard_timeout = run.options["hard_timeout"]
    assert run.options["time_limit"] < hard_timeout <= builtin.max_hard_timeout()
    assert run.limits["wall_seconds"] == hard_timeout
    assert builtin.max_hard_timeout() < builtin.worker_soft_time_limit()
    assert builtin.worker_soft_time_limit() < builtin.worker_hard_time_limit()


def test_a_second_run_is_refused_while_one_is_active(classification_task):
    first = baseline_run_queue(task=classification_task)
    with pytest.raises(BaselineRunRefused) as refused:
        baseline_run_queue(task=classification_task)
    assert f"already has a baseline queued (run #{first.pk})" in refused.value.message
    BaselineRun.objects.filter(pk=first.pk).update(status=AlgorithmRunStatus.RUNNING)
    with pytest.raises(BaselineRunRefused, match="running"):
        baseline_run_queue(task=classification_task)
    BaselineRun.objects.filter(pk=first.pk).update(status=AlgorithmRunStatus.FAILED)
    assert baseline_run_queue(task=classification_task).pk != first.pk


def test_the_database_allows_one_active_run_per_task(classification_task):
    make_run(classification_task, status=AlgorithmRunStatus.RUNNING)
    make_run(classification_task, status=AlgorithmRunStatus.SUCCEEDED)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_run(classification_task, status=AlgorithmRunStatus.QUEUED)


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
    make_run(done, status=AlgorithmRunStatus.SUCCEEDED)
    make_run(busy, status=AlgorithmRunStatus.RUNNING)
    make_run(failed, status=AlgorithmRunStatus.FAILED)
    other = imported_task(tmp_path, kind="matching", slug="elsewhere")  # another challenge

    queued = baselines_queue_for_challenge(challenge=challenge)
    assert sorted(run.task.slug for run in queued) == ["failed", "fresh"]
    assert baselines_queue_for_challenge(challenge=challenge) == []  # idempotent
    assert not BaselineRun.objects.filter(task=other).exists()


# --- cancelling ----------------------------------------------------------------------------


def test_a_queued_run_is_cancelled_at_once_and_never_runs(classification_task):
    run = baseline_run_queue(task=classification_task)
    run = baseline_run_cancel(run=run)
    assert run.status == AlgorithmRunStatus.CANCELLED
    assert run.error == "cancelled before a worker started it"
    assert run.finished_at is not None
    assert baseline_run_execute(run_pk=run.pk, delivery_id="d1") == "skipped"
    run.refresh_from_db()
    assert run.status == AlgorithmRunStatus.CANCELLED and run.started_at is None


def test_a_running_run_is_flagged_for_its_task_to_stop(classification_task):
    run = make_run(classification_task, status=AlgorithmRunStatus.RUNNING)
    run = baseline_run_cancel(run=run)
    assert run.status == AlgorithmRunStatus.RUNNING and run.cancel_requested


def test_a_finished_run_cannot_be_cancelled(classification_task):
    run = make_run(classification_task, status=AlgorithmRunStatus.SUCCEEDED)
    with pytest.raises(AlgorithmRefused, match="already finished"):
        baseline_run_cancel(run=run)


# --- the task folder -------------------------------------------------------------------------


def test_the_baseline_gets_the_same_task_folder_as_any_algorithm(tmp_path, matching_task):
    """The /task of every run (algorithms.services.taskfolder); its images are a folder the
    baseline's features read like the archive they came from."""
    folder = task_folder_write(task=matching_task, folder=tmp_path / "task")
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
    assert baseline_run_execute(run_pk=run.pk, delivery_id="d1") == AlgorithmRunStatus.FAILED
    run.refresh_from_db()
    assert run.status == AlgorithmRunStatus.FAILED  # at once: a baseline has one attempt
    # The organizers' console names the exception (a participant's run would not).
    assert "FileNotFoundError" in run.error and "not the algorithm's fault" in run.error
    assert run.worker_pid and run.worker_hostname and run.finished_at
    assert run.submission is None and run.attempts == 1


def test_a_redelivered_message_of_a_dead_worker_marks_its_run_failed(classification_task):
    started = timezone.now() - timedelta(minutes=5)
    run = make_run(
        classification_task,
        status=AlgorithmRunStatus.RUNNING,
        claim_token="delivery-1",
        attempts=1,
        started_at=started,
    )
    # A duplicate (another delivery) leaves the run to the worker that holds it.
    assert baseline_run_execute(run_pk=run.pk, delivery_id="delivery-2") == "skipped"
    run.refresh_from_db()
    assert run.status == AlgorithmRunStatus.RUNNING
    # Its own message, redelivered after the worker died: failed, and not re-run.
    assert baseline_run_execute(run_pk=run.pk, delivery_id="delivery-1") == "skipped"
    run.refresh_from_db()
    assert run.status == AlgorithmRunStatus.FAILED
    assert "stopped unexpectedly" in run.error and "Run baseline again" in run.error
    assert run.claim_token == ""


def test_a_deleted_run_is_skipped(classification_task):
    run = baseline_run_queue(task=classification_task)
    run.delete()
    assert baseline_run_execute(run_pk=run.pk, delivery_id="d1") == "skipped"


# --- the sweeper ---------------------------------------------------------------------------------


def test_a_queued_run_whose_message_was_lost_is_published_again_once(
    baseline_broker, tmp_path, challenge
):
    lost_task, fresh_task = (
        imported_task(tmp_path, challenge=challenge, slug=slug) for slug in ("lost", "fresh")
    )
    now = timezone.now()
    lost = make_run(lost_task, status_changed_at=now - timedelta(minutes=5))
    make_run(fresh_task, status_changed_at=now)  # its message may be on its way
    assert jobs_republish(job_types=[BASELINE.job_type], now=now) == {
        BASELINE.task_name: [lost.pk]
    }
    assert published_runs(baseline_broker) == [lost.pk]
    assert baseline_runs_sweep(now=now).requeued == []  # the sweeper is for running ones
    assert jobs_republish(job_types=[BASELINE.job_type], now=now) == {}  # its message waits


def test_the_sweeper_ends_runs_whose_worker_stopped_beating(tmp_path, challenge):
    quiet, cancelled, alive = (
        imported_task(tmp_path, challenge=challenge, slug=slug)
        for slug in ("quiet", "cancelled", "alive")
    )
    now = timezone.now()
    old = now - timedelta(seconds=runs.RUNNING_STALE_SECONDS + 5)
    running = {
        "status": AlgorithmRunStatus.RUNNING,
        "started_at": old,
        "status_changed_at": old,
        "claim_token": "x",
        "attempts": 1,
    }
    quiet_run = make_run(quiet, heartbeat_at=old, **running)
    cancelled_run = make_run(cancelled, heartbeat_at=old, cancel_requested=True, **running)
    alive_run = make_run(alive, heartbeat_at=now - timedelta(seconds=3), **running)

    report = baseline_runs_sweep(now=now)
    assert sorted(report.failed) == sorted([quiet_run.pk, cancelled_run.pk])
    for run in (quiet_run, cancelled_run, alive_run):
        run.refresh_from_db()
    assert quiet_run.status == AlgorithmRunStatus.FAILED
    assert "no heartbeat for 305 s" in quiet_run.error
    assert "It was not retried automatically" in quiet_run.error
    assert cancelled_run.status == AlgorithmRunStatus.CANCELLED
    assert alive_run.status == AlgorithmRunStatus.RUNNING
    # The worker that held the quiet run cannot record an outcome any more.
    ending = outcome.Ending(run=quiet_run, token="x", job_type=BASELINE.job_type)
    assert outcome.fail_run(ending=ending, error="late") == "superseded"


def test_the_watch_stops_the_runner_when_cancelled_or_taken_over(classification_task):
    run = make_run(classification_task, status=AlgorithmRunStatus.RUNNING, claim_token="tok")
    watch = watch_module.RunWatch(run_pk=run.pk, token="tok")
    watch.line("fitting LightGBM ...")
    watch.last_beat = 0  # due
    assert watch.is_set() is False
    run.refresh_from_db()
    assert run.log_tail == "fitting LightGBM ..." and run.heartbeat_at is not None

    BaselineRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    watch.last_beat = 0
    assert watch.is_set() is True and not watch.lost

    other = watch_module.RunWatch(run_pk=run.pk, token="someone-else")
    other.last_beat = 0
    assert other.is_set() is True and other.lost


def test_the_log_tail_keeps_the_last_64_kb():
    """As much as the sandbox keeps of any run's output (it was 4 KB of fit.log before the
    baseline became an algorithm run: one size for every run's log now)."""
    watch = watch_module.RunWatch(run_pk=0, token="t")
    for i in range(20_000):
        watch.line(f"line {i:05d} " + "x" * 40)
    tail = "\n".join(watch.lines)
    assert 60_000 < len(tail.encode()) <= 64 * 1024
    assert tail.endswith("line 19999 " + "x" * 40)


def test_the_live_log_is_never_read_through_a_link_or_a_fifo(tmp_path):
    """The live log is the algorithm's file: a link to a host file, or a FIFO (which would
    block the worker on open), is not read; a huge file is read from its end."""
    secret = tmp_path / "secret"
    secret.write_text("host secret\n")
    lines: list[str] = []
    link = tmp_path / "fit.log"
    link.symlink_to(secret)
    watch_module.LogTail(link, lines.append).pump(final=True)
    fifo = tmp_path / "fifo.log"
    os.mkfifo(fifo)
    watch_module.LogTail(fifo, lines.append).pump(final=True)
    assert lines == []
    big = tmp_path / "big.log"
    with open(big, "wb") as handle:
        handle.write(b"x" * (10 * 1024 * 1024) + b"\nthe last line\n")
    tail = watch_module.LogTail(big, lines.append)
    tail.pump(final=True)
    assert lines[-1] == "the last line" and tail.offset == big.stat().st_size
    assert sum(len(line) for line in lines) <= 64 * 1024


def test_the_baseline_submission_file_is_stored_like_an_upload(
    tmp_path, classification_task, django_capture_on_commit_callbacks
):
    run = baseline_run_queue(task=classification_task)
    frame = pd.DataFrame({"id": ["t0000"], "label": ["bird"]})
    path = tmp_path / "predictions.parquet"
    frame.to_parquet(path, index=False)
    AlgorithmRun.objects.filter(pk=run.pk).update(status="running", claim_token="tok")
    ending = outcome.Ending(run=run, token="tok", job_type=BASELINE.job_type)
    with django_capture_on_commit_callbacks() as published:
        assert outcome.submit_as_platform_team(ending=ending, predictions=path) == "succeeded"
    run.refresh_from_db()
    submission = run.submission
    # Queued through scoring's one path for a job's predictions, published on commit.
    assert submission.status == "queued" and submission.file_format == "parquet"
    assert submission.note == (
        f"Algorithm AutoGluon baseline v1 (run #{run.pk}; hard_timeout"
        f" {run.options['hard_timeout']}, presets medium_quality, time_limit"
        f" {run.options['time_limit']})"
    )
    # One job published (the status reads held on the run are rung as well: not a job).
    jobs = [c for c in published if "publish_after_commit" in c.__qualname__]
    assert len(jobs) == 1
    assert submission.team.is_baseline and submission.uploaded_by is None
    with submission.file.open("rb") as handle:
        assert pd.read_parquet(io.BytesIO(handle.read())).equals(frame)
    assert submission.file.name.startswith(f"submissions/{classification_task.slug}/")


def test_predictions_the_scoring_checks_refuse_fail_the_run_and_submit_nothing(
    tmp_path, classification_task
):
    run = make_run(classification_task, status=AlgorithmRunStatus.RUNNING, claim_token="tok")
    path = tmp_path / "predictions.parquet"
    path.write_bytes(b"")
    ending = outcome.Ending(run=run, token="tok", job_type=BASELINE.job_type)
    status = outcome.submit_as_platform_team(ending=ending, predictions=path)
    run.refresh_from_db()
    assert status == run.status == AlgorithmRunStatus.FAILED
    assert run.error == "the predictions were refused: The file is empty."
    assert run.submission is None and run.claim_token == ""
