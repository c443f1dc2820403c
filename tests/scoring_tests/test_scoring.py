"""The scoring lifecycle, run in-process through the task body (the worker tests do it for real).

``score_submission.run`` executes exactly what a worker executes, minus the broker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from celery.exceptions import SoftTimeLimitExceeded

from jobs import lifecycle as job_lifecycle
from scoring.core import ScoreResult, load_predictions
from scoring.models import Submission, SubmissionStatus
from scoring.services import lifecycle
from scoring.services.lifecycle import INTERNAL_ERROR_MESSAGE, submission_score
from scoring.services.sweep import submission_rescore
from scoring.services.upload import submission_create
from scoring.solutions import solution_cache
from scoring.tasks import score_submission
from tests.scoring_tests.factories import (
    assert_scores_equal,
    csv_bytes,
    imported_task,
    make_participant,
    parquet_bytes,
    predictions_frame,
    sklearn_scores,
    solution_frame,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def classification(module_tasks):
    return module_tasks["classification"]


@pytest.fixture
def matching(module_tasks):
    return module_tasks["matching"]


def submit(task, content: bytes, name: str = "p.csv") -> Submission:
    who = make_participant(task.track.challenge)
    return submission_create(task=task, user=who.user, file=upload(content, name))


def score(submission: Submission, delivery_id: str | None = None) -> Submission:
    solution_cache.items.clear()
    if delivery_id is None:
        score_submission.run(submission_pk=submission.pk)
    else:
        submission_score(submission_pk=submission.pk, delivery_id=delivery_id)
    submission.refresh_from_db()
    return submission


def test_a_classification_file_is_scored_like_scikit_learn(classification):
    frame = predictions_frame(classification, shuffle=True)
    submission = score(submit(classification, csv_bytes(frame)))

    assert submission.status == SubmissionStatus.SCORED, submission.error
    assert_scores_equal(submission.scores, sklearn_scores(classification, frame))
    assert submission.public_score == submission.scores["public"]["accuracy"]
    assert submission.private_score == submission.scores["private"]["accuracy"]
    assert submission.row_count == len(frame)
    assert submission.file_format == "csv"
    assert submission.attempts == 1 and submission.error == ""
    assert submission.started_at <= submission.finished_at == submission.status_changed_at
    assert submission.scoring_seconds is not None and submission.scoring_seconds >= 0
    # The aligned predictions are kept, in the solution's order, for bootstrap and flips.
    with submission.predictions.open("rb") as handle:
        aligned = load_predictions(handle.read())
    truth = solution_frame(classification)
    by_id = frame.set_index("id").loc[truth["id"], "label"]
    assert [classification.classes[c] for c in aligned.pred] == list(by_id)


@pytest.mark.parametrize("fmt", ["parquet", "csv.gz"])
def test_a_matching_file_is_scored_like_scikit_learn_in_every_format(matching, fmt):
    frame = predictions_frame(matching, wrong=0.25, seed=3)
    content = parquet_bytes(frame) if fmt == "parquet" else csv_bytes(frame, gzipped=True)
    submission = score(submit(matching, content, f"p.{fmt}"))

    assert submission.status == SubmissionStatus.SCORED, submission.error
    assert submission.file_format == fmt
    assert_scores_equal(submission.scores, sklearn_scores(matching, frame))
    assert submission.public_score == submission.scores["public"]["f1"]


def test_scoring_twice_is_harmless(classification):
    submission = score(submit(classification, csv_bytes(predictions_frame(classification))))
    finished = submission.finished_at

    assert score_submission.run(submission_pk=submission.pk) == "skipped"
    submission.refresh_from_db()
    assert submission.attempts == 1 and submission.finished_at == finished


def test_a_submission_held_by_another_delivery_is_left_alone(classification):
    submission = submit(classification, csv_bytes(predictions_frame(classification)))
    Submission.objects.filter(pk=submission.pk).update(
        status=SubmissionStatus.SCORING, claim_token="other-delivery", attempts=1
    )

    assert submission_score(submission_pk=submission.pk, delivery_id="mine") == "skipped"
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.SCORING and submission.attempts == 1

    # The same message redelivered (its worker died) takes it over.
    submission = score(submission, delivery_id="other-delivery")
    assert submission.status == SubmissionStatus.SCORED and submission.attempts == 2


def test_a_missing_submission_is_skipped():
    assert score_submission.run(submission_pk=987654) == "skipped"


def test_internal_errors_are_retried_then_fail_without_blaming_the_participant(
    classification, monkeypatch, django_capture_on_commit_callbacks, settings
):
    settings.SCORING_MAX_ATTEMPTS = 3
    submission = submit(classification, csv_bytes(predictions_frame(classification)))
    published = []
    monkeypatch.setattr(
        job_lifecycle,
        "publish",
        lambda *, task_name, countdown=None, urgent=False, **kw: published.append(
            {**kw, "countdown": countdown, "urgent": urgent}
        ),
    )

    def broken(*args, **kwargs):
        raise OSError("disk went away")

    monkeypatch.setattr(lifecycle, "score_file", broken)
    for attempt in (1, 2):
        with django_capture_on_commit_callbacks(execute=True):
            submission = score(submission)
        assert submission.status == SubmissionStatus.QUEUED
        assert submission.attempts == attempt and submission.error == ""
        # A retry waits its backoff at the normal priority (only the sweep's re-queue is urgent).
        assert published[-1] == {
            "submission_pk": submission.pk,
            "countdown": 2**attempt,
            "urgent": False,
        }

    submission = score(submission)
    assert submission.status == SubmissionStatus.FAILED
    assert submission.attempts == 3
    assert submission.error == INTERNAL_ERROR_MESSAGE
    assert len(published) == 2


def test_a_broken_solution_is_an_internal_error(tmp_path, settings):
    settings.SCORING_MAX_ATTEMPTS = 1
    classification = imported_task(tmp_path, kind="classification")
    submission = submit(classification, csv_bytes(predictions_frame(classification)))
    classification.solution.storage.delete(classification.solution.name)

    submission = score(submission)

    assert submission.status == SubmissionStatus.FAILED
    assert submission.error == INTERNAL_ERROR_MESSAGE


def test_the_soft_time_limit_fails_with_a_readable_reason(classification, monkeypatch):
    submission = submit(classification, csv_bytes(predictions_frame(classification)))

    def slow(*args, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(lifecycle, "score_file", slow)
    submission = score(submission)

    assert submission.status == SubmissionStatus.FAILED
    assert "took longer than the 5-minute limit" in submission.error
    assert submission.attempts == 1


def test_the_leaderboard_is_refreshed_after_a_score_and_its_failure_is_not_fatal(
    classification, monkeypatch
):
    import leaderboard.refresh

    refreshed = []
    monkeypatch.setattr(
        leaderboard.refresh, "task_leaderboard_refresh", lambda **kw: refreshed.append(kw)
    )
    first = score(submit(classification, csv_bytes(predictions_frame(classification))))
    # With the scored team: the refresh recomputes its entries, not the whole board.
    assert refreshed == [{"task_id": classification.pk, "team_id": first.team_id}]

    def broken(**kw):
        raise RuntimeError("leaderboard bug")

    monkeypatch.setattr(leaderboard.refresh, "task_leaderboard_refresh", broken)
    second = score(submit(classification, csv_bytes(predictions_frame(classification))))
    assert first.status == second.status == SubmissionStatus.SCORED


def test_the_real_leaderboard_lists_the_scored_submission(classification):
    from leaderboard.models import LeaderboardEntry

    submission = score(submit(classification, csv_bytes(predictions_frame(classification))))

    entry = LeaderboardEntry.objects.get(task=classification, split="public")
    assert entry.submission_id == submission.pk
    assert entry.score == pytest.approx(submission.public_score)


def test_a_result_computed_after_a_rescore_is_dropped(classification, monkeypatch):
    submission = submit(classification, csv_bytes(predictions_frame(classification)))
    real = lifecycle.score_file

    def rescored_meanwhile(*args, **kwargs):
        result = real(*args, **kwargs)
        submission_rescore(submission=Submission.objects.get(pk=submission.pk))
        return result

    monkeypatch.setattr(lifecycle, "score_file", rescored_meanwhile)
    folder = Path(submission.file.storage.path(submission.file.name)).parent
    before = set(folder.iterdir())

    assert submission_score(submission_pk=submission.pk) == "superseded"

    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.QUEUED and submission.scores == {}
    assert set(folder.iterdir()) == before, "the dropped result's predictions were removed"


def test_metrics_that_are_not_finite_are_stored_as_null():
    result = ScoreResult(
        metrics={"all": {"a": float("nan"), "b": 0.5, "c": float("inf")}, "public": {}},
        aligned=None,  # type: ignore[arg-type]  # scores() reads the metrics only
        row_count=3,
        format="csv",
    )
    assert result.scores() == {
        "all": {"a": None, "b": 0.5, "c": None},
        "public": {},
        "private": {},
    }


def test_solutions_are_cached_per_task_and_file(classification):
    solution_cache.items.clear()
    first = solution_cache.get(classification)
    assert solution_cache.get(classification) is first
    # Keyed by task, solution file and the task's OPIS settings (a change is never stale).
    assert [key[:2] for key in solution_cache.items] == [
        (classification.pk, classification.solution.name)
    ]
    classification.opis = {**classification.opis, "min_group_rows": 3}
    assert solution_cache.get(classification) is not first
    assert solution_cache.get(classification).opis.min_group_rows == 3
    assert np.array_equal(
        first.ids.to_numpy(zero_copy_only=False), solution_frame(classification).id
    )


def test_a_database_outage_is_a_temporary_error_that_celery_retries(monkeypatch):
    from django.db import OperationalError

    from jobs.celery import TemporaryError

    def down(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(lifecycle, "submission_score", down)
    with pytest.raises(TemporaryError):
        score_submission.run(submission_pk=1)
    assert TemporaryError in score_submission.autoretry_for
