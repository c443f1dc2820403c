"""Baselines through a real Redis and a real Celery worker, with the real AutoGluon runner.

Tiny tasks and short budgets (2 cores shared): each fit takes 15 s of AutoGluon time.
"""

from __future__ import annotations

import io
import time
from io import StringIO

import pandas as pd
import pytest
from django.core.management import call_command
from rest_framework.test import APIClient
from sklearn.metrics import accuracy_score, f1_score, mean_squared_error

from algorithms.models import AlgorithmRunStatus
from algorithms.selectors import baseline_run_list, run_artifact
from algorithms.services.baseline import baseline_run_queue
from algorithms.services.runs import algorithm_run_cancel as baseline_run_cancel
from datasets.demo.movies import build_movie_ratings
from datasets.services import task_import
from scoring.models import SubmissionStatus
from tests.scoring_tests.factories import solution_frame
from tests.support.baseline_runs import process_gone, run_state, runner_processes
from tests.support.delays import slow_baseline_dir
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]

# The baseline's safety limit (its work is fixed, budget.py): only a hung run reaches it.
SAFETY_SECONDS = 300


def baseline_entry(slug: str, timeout: float = 30) -> dict:
    """The board's AutoGluon baseline entry (the trivial baseline is a reference row too). The
    worker refreshes the board right after it commits the score, so a test that saw
    ``scored`` may look a moment before the entry lands."""
    deadline = time.monotonic() + timeout
    while True:
        response = APIClient().get(f"/api/v1/tasks/{slug}/leaderboard/")
        assert response.status_code == 200, response.content
        entries = [
            e
            for e in response.json()["entries"]
            if e["is_baseline"] and e.get("reference") == "AutoGluon baseline"
        ]
        if entries or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(entries) == 1, response.json()
    return entries[0]


def public_primary(task, submission) -> float:
    """The primary metric of the stored baseline file on the public rows, computed here."""
    with submission.file.open("rb") as handle:
        predictions = pd.read_parquet(io.BytesIO(handle.read()))
    truth = solution_frame(task)
    rows = truth[truth.split == "public"].merge(predictions, on="id", suffixes=("", "_pred"))
    assert len(rows) == (truth.split == "public").sum()
    if task.kind == "matching":
        return f1_score(rows.label.astype(int), rows.label_pred.astype(int))
    return accuracy_score(rows.label.astype(str), rows.label_pred.astype(str))


def scored(pk: int):
    run = run_state(pk)
    if run.submission and run.submission.status in (SubmissionStatus.SCORED, "failed"):
        return run
    return None


def test_classification_baseline_reaches_the_leaderboard_unranked(
    baseline_broker, celery_worker, classification_task
):
    out = StringIO()
    call_command(
        "run_baselines",
        "--task",
        classification_task.slug,
        "--time-limit",
        str(SAFETY_SECONDS),
        "--wait",
        stdout=out,
    )
    text = out.getvalue()
    assert f"queued   {classification_task.slug}" in text
    run = baseline_run_list(task=classification_task).get()
    assert run.status == AlgorithmRunStatus.SUCCEEDED, (run.error, celery_worker.log_tail(80))
    submission = run.submission
    assert submission.status == SubmissionStatus.SCORED, submission.error
    assert submission.team.is_baseline and submission.team.name == "AutoGluon baseline"
    # Scored like any team's file: the score is the accuracy of the stored predictions.
    assert submission.public_score == pytest.approx(public_primary(classification_task, submission))
    assert f"{submission.public_score:.4f}" in text  # the --wait table
    assert run.result["validation_score"] is not None and run.result["best_model"]
    assert run.seconds > 0 and run.options["time_limit"] == SAFETY_SECONDS
    assert run.profile == "baseline" and run.backend == "bubblewrap" and run.exit_code == 0
    assert "AutoGluon" in run.log_tail or "baseline:" in run.log_tail
    assert set(run.artifacts) == {"leaderboard.csv", "fit.log"}
    artifact = run_artifact(run=run, name="leaderboard.csv")
    with artifact.open() as handle:
        assert handle.readline().startswith(b"model,")

    entry = baseline_entry(classification_task.slug)
    assert entry["rank"] is None
    assert entry["team"] == "AutoGluon baseline"
    assert entry["score"] == pytest.approx(submission.public_score)


def test_matching_baseline_with_images_is_scored_like_a_submission(
    baseline_broker, celery_worker, matching_task
):
    run = baseline_run_queue(task=matching_task, time_limit=SAFETY_SECONDS)
    run = wait_for(lambda: scored(run.pk), timeout=240, what="the baseline", worker=celery_worker)
    assert run.status == AlgorithmRunStatus.SUCCEEDED, run.error
    assert run.submission.status == SubmissionStatus.SCORED, run.submission.error
    scores = run.submission.scores
    assert set(scores) == {"all", "public", "private"}
    assert {"f1", "precision", "recall", "average_precision"} <= set(scores["all"])
    assert run.submission.public_score == pytest.approx(
        public_primary(matching_task, run.submission)
    )
    assert run.result["train_rows"] == 60 and run.result["kind"] == "matching"

    entry = baseline_entry(matching_task.slug)
    assert entry["rank"] is None and entry["is_baseline"] is True


def test_cancelling_a_running_baseline_kills_its_process_group(
    baseline_broker, worker_factory, classification_task, settings
):
    # The runner waits before fitting, so the cancel always lands mid-run on any machine
    # (the run's version, stored when it is queued, is this slow copy of the folder).
    settings.BASELINE_ALGORITHM_DIR = slow_baseline_dir(120)
    celery_worker = worker_factory()
    celery_worker.wait_ready()
    run = baseline_run_queue(task=classification_task, time_limit=120)
    procs = wait_for(
        lambda: runner_processes(celery_worker.process.pid),
        timeout=60,
        what="the runner process",
        worker=celery_worker,
    )
    pids = {proc.pid for proc in procs}
    wait_for(
        lambda: run_state(run.pk).log_tail, timeout=60, what="a log tail", worker=celery_worker
    )

    baseline_run_cancel(run=run)
    run = wait_for(
        lambda: (r := run_state(run.pk)).status != AlgorithmRunStatus.RUNNING and r,
        timeout=30,
        what="the run to stop",
        worker=celery_worker,
    )
    assert run.status == AlgorithmRunStatus.CANCELLED
    assert run.error.startswith("cancelled while running (after ")
    assert run.runner_pid in pids  # bwrap, the leader of the sandbox's process group
    assert all(process_gone(pid) for pid in pids)
    assert run.submission is None and run.finished_at is not None
    assert "leaderboard.csv" not in run.artifacts  # the fit never finished
    assert "test delay" in run.log_tail  # the live fit.log, kept


def test_a_baseline_past_its_hard_timeout_fails_naming_the_limit_without_orphans(
    baseline_broker, worker_factory, classification_task, settings
):
    """Was ``timed_out``: one status set for every run now (docs/architecture.md §9), the
    limit named."""
    # The runner sleeps before fitting, so the run outlives its hard timeout on any machine.
    settings.BASELINE_ALGORITHM_DIR = slow_baseline_dir(120)
    celery_worker = worker_factory()
    celery_worker.wait_ready()
    run = baseline_run_queue(task=classification_task, time_limit=10, hard_timeout=12)
    run = wait_for(
        lambda: (r := run_state(run.pk)).status not in ("queued", "running") and r,
        timeout=90,
        what="the run to end",
        worker=celery_worker,
    )
    assert run.status == AlgorithmRunStatus.FAILED, run.error
    assert run.limit_hit == "wall_seconds"
    assert run.error == "stopped: the algorithm hit the wall-clock limit (12 s)"
    assert 12 <= run.seconds < 40
    assert run.runner_pid and process_gone(run.runner_pid)
    assert not runner_processes(celery_worker.process.pid)
    assert run.submission is None


def test_regression_baseline_on_the_demo_task_is_an_unranked_reference_below_the_mean(
    baseline_broker, worker_factory, challenge, tmp_path
):
    """The demo's movie-ratings (7,000 train rows), a decile sample of 1,500 of them."""
    folder = build_movie_ratings(out_dir=tmp_path / "movie-ratings")
    task = task_import(source=folder, challenge_slug=challenge.slug, track_slug="regression")
    celery_worker = worker_factory(env={"BASELINE_MAX_TRAIN_ROWS": "1500"})
    celery_worker.wait_ready()
    run = baseline_run_queue(task=task, time_limit=SAFETY_SECONDS)
    run = wait_for(lambda: scored(run.pk), timeout=300, what="the baseline", worker=celery_worker)
    assert run.status == AlgorithmRunStatus.SUCCEEDED, (run.error, run.log_tail[-2000:])
    submission = run.submission
    assert submission.status == SubmissionStatus.SCORED, submission.error
    assert submission.team.is_baseline
    assert (run.result["kind"], run.result["problem_type"]) == ("regression", "regression")
    assert run.result["eval_metric"] == "root_mean_squared_error"
    assert (run.result["train_rows"], run.result["train_rows_used"]) == (7000, 1500)

    # Scored like any team's file: the RMSE of the stored predictions, computed here.
    with submission.file.open("rb") as handle:
        predictions = pd.read_parquet(io.BytesIO(handle.read()))
    assert list(predictions.columns) == ["id", "label"]
    assert predictions["label"].dtype == "float64" and len(predictions) == 3000
    truth = solution_frame(task)
    rows = truth.merge(predictions, on="id", suffixes=("", "_pred"))
    public = rows[rows.split == "public"]
    assert submission.public_score == pytest.approx(
        mean_squared_error(public.label, public.label_pred) ** 0.5
    )
    assert set(submission.scores["all"]) == {"rmse", "mae", "r2"}
    assert submission.scores["all"]["r2"] > 0.05  # the train mean has R² 0 (about 0.18 here)

    entry = baseline_entry(task.slug)
    assert entry["rank"] is None and entry["is_baseline"] is True
    assert entry["score"] == pytest.approx(submission.public_score)
    deadline = time.monotonic() + 30  # the references land with the board's refresh too
    while True:
        board = APIClient().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()
        names = [e.get("reference") for e in board["entries"]]
        if "Trivial baseline" in names or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert board["direction"] == "lower"
    trivial = board["entries"][names.index("Trivial baseline")]
    assert trivial["rank"] is None and trivial["score"] > entry["score"]  # the train mean
    # Best first on a lower-is-better board: the AutoGluon baseline before the train mean.
    assert names.index("AutoGluon baseline") < names.index("Trivial baseline")
