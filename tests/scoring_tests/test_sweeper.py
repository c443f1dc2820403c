"""The sweeper re-queues what a lost message or a dead worker left behind; rescoring."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from challenges import hooks
from jobs import lifecycle
from jobs.republish import jobs_republish
from scoring.models import Submission, SubmissionStatus
from scoring.services.lifecycle import INTERNAL_ERROR_MESSAGE, SCORING, submission_score
from scoring.services.sweep import SweepReport, submission_rescore, submissions_sweep, task_rescore
from scoring.services.upload import submission_create
from scoring.tasks import score_submission, sweep_submissions
from tests.scoring_tests.factories import csv_bytes, make_participant, predictions_frame, upload
from tests.support.broker import queued_messages, queued_submission_pks, task_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _stale_after(settings):
    settings.SWEEPER_STALE_AFTER_SECONDS = 60
    settings.SCORING_MAX_ATTEMPTS = 3


@pytest.fixture
def task(module_tasks):
    return module_tasks["classification"]


def new_submission(task, *, status=SubmissionStatus.QUEUED, age=0, **fields) -> Submission:
    who = make_participant(task.track.challenge)
    submission = submission_create(
        task=task, user=who.user, file=upload(csv_bytes(predictions_frame(task)))
    )
    Submission.objects.filter(pk=submission.pk).update(
        status=status, status_changed_at=timezone.now() - timedelta(seconds=age), **fields
    )
    submission.refresh_from_db()
    return submission


def run_sweeper(callbacks) -> SweepReport:
    with callbacks(execute=True):
        return submissions_sweep()


def test_stale_scoring_submissions_are_requeued_and_lost_messages_published_again(
    task, broker, django_capture_on_commit_callbacks
):
    lost_message = new_submission(task, age=120)
    dead_worker = new_submission(
        task, status=SubmissionStatus.SCORING, age=120, attempts=1, claim_token="gone"
    )
    fresh = new_submission(task, age=0)
    working = new_submission(task, status=SubmissionStatus.SCORING, age=5, attempts=1)
    done = new_submission(task, status=SubmissionStatus.SCORED, age=9999)
    failed = new_submission(task, status=SubmissionStatus.FAILED, age=9999)

    report = run_sweeper(django_capture_on_commit_callbacks)

    # The sweeper takes back what a dead worker left ``scoring``...
    assert (report.requeued, report.failed) == ([dead_worker.pk], [])
    assert queued_submission_pks(broker) == [dead_worker.pk]
    dead_worker.refresh_from_db()
    assert dead_worker.status == SubmissionStatus.QUEUED and dead_worker.claim_token == ""
    assert timezone.now() - dead_worker.status_changed_at < timedelta(seconds=5)
    # ...and a queued one whose message is not on the broker is published again, once; a
    # fresh one (its publish may be on its way) and one whose message waits are left alone.
    assert jobs_republish() == {SCORING.task_name: [lost_message.pk]}
    assert queued_submission_pks(broker) == sorted([lost_message.pk, dead_worker.pk])
    assert jobs_republish() == {}
    for submission, status in (
        (lost_message, "queued"),
        (fresh, "queued"),
        (working, "scoring"),
        (done, "scored"),
        (failed, "failed"),
    ):
        submission.refresh_from_db()
        assert submission.status == status

    # Requeued ones are not touched again until they are stale once more.
    assert run_sweeper(django_capture_on_commit_callbacks).requeued == []


def test_after_a_broker_restart_every_queued_job_without_a_message_is_published_at_once(
    task, broker, django_capture_on_commit_callbacks
):
    """The broker restarted empty: a worker sees it (jobs.liveness) and republishes with
    ``fresh``, so a row queued a second ago gets its message now, not after half the bound;
    one whose message is on the broker, or that runs, gets none."""
    young = new_submission(task, age=1)
    with django_capture_on_commit_callbacks(execute=True):
        waiting = new_submission(task, age=1)  # its message is on the broker
    new_submission(task, status=SubmissionStatus.SCORING, age=1, attempts=1)
    assert jobs_republish() == {}  # too young for the periodic look
    assert jobs_republish(fresh=True) == {SCORING.task_name: [young.pk]}
    assert queued_submission_pks(broker) == sorted([young.pk, waiting.pk])
    assert jobs_republish(fresh=True) == {}


def test_a_stale_submission_goes_back_ahead_of_the_queue_and_a_rescore_behind_it(
    task, broker, django_capture_on_commit_callbacks
):
    # Two uploads wait (normal priority); then the sweeper re-queues a stale one: it waited
    # once already, so a worker takes it before them. A rescore waits its turn.
    stale = new_submission(task, status=SubmissionStatus.SCORING, age=120, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        waiting = [new_submission(task).pk for _ in range(2)]
    run_sweeper(django_capture_on_commit_callbacks)
    done = new_submission(task, status=SubmissionStatus.SCORED)
    with django_capture_on_commit_callbacks(execute=True):
        submission_rescore(submission=done)

    taken = [task_of(message) for message in queued_messages(broker, "scoring")]
    assert [(kwargs["submission_pk"], priority) for _, kwargs, priority in taken] == [
        (stale.pk, 0),
        *[(pk, settings.CELERY_TASK_DEFAULT_PRIORITY) for pk in waiting],
        (done.pk, settings.CELERY_TASK_DEFAULT_PRIORITY),
    ]


def test_a_submission_that_used_every_attempt_fails_with_the_internal_message(
    task, django_capture_on_commit_callbacks
):
    exhausted = new_submission(task, status=SubmissionStatus.SCORING, age=120, attempts=3)

    report = run_sweeper(django_capture_on_commit_callbacks)

    assert report.failed == [exhausted.pk]
    exhausted.refresh_from_db()
    assert exhausted.status == SubmissionStatus.FAILED
    assert exhausted.error == INTERNAL_ERROR_MESSAGE
    assert exhausted.finished_at is not None


def test_a_submission_the_sweeper_fails_is_announced_to_the_team(
    task, django_capture_on_commit_callbacks
):
    """The notifications (and anything else listening) hear of a sweeper's failure as of a
    worker's: the team is told its submission failed, not left waiting."""
    heard: list[int] = []
    receiver = hooks.subscribe(
        event=hooks.SubmissionFinished, receiver=lambda e: heard.append(e.submission_id)
    )
    try:
        exhausted = new_submission(task, status=SubmissionStatus.SCORING, age=120, attempts=3)
        requeued = new_submission(task, status=SubmissionStatus.QUEUED, age=120)
        run_sweeper(django_capture_on_commit_callbacks)
    finally:
        hooks.unsubscribe(event=hooks.SubmissionFinished, receiver=receiver)
    assert heard == [exhausted.pk]  # the re-queued one is not finished
    assert requeued.pk not in heard


def test_after_the_sweeper_requeued_it_the_old_delivery_cannot_take_it_back(task):
    # A worker died while scoring with delivery "A"; the sweeper re-queued the row and its
    # new message "B" is being scored when A's message comes back (visibility timeout).
    submission = new_submission(
        task, status=SubmissionStatus.SCORING, age=120, attempts=1, claim_token="A"
    )
    submissions_sweep()
    assert lifecycle.job_claim(job_type=SCORING, pk=submission.pk, token="B", delivery_id="B")

    assert submission_score(submission_pk=submission.pk, delivery_id="A") == "skipped"
    submission.refresh_from_db()
    assert (submission.status, submission.claim_token) == (SubmissionStatus.SCORING, "B")
    assert submission.attempts == 2


def test_the_sweeper_task_is_registered_under_the_scheduled_name():
    from jobs.celery import app

    scheduled = app.conf.beat_schedule["sweep-stuck-submissions"]["task"]
    assert scheduled == sweep_submissions.name == "scoring.tasks.sweep_submissions"
    assert score_submission.name == "scoring.tasks.score_submission"
    assert score_submission.acks_late and score_submission.reject_on_worker_lost
    assert score_submission.soft_time_limit < score_submission.time_limit
    assert sweep_submissions.run() == {
        "requeued": [],
        "failed": [],
        "reference_builds_requeued": [],
        "reference_builds_failed": [],
    }


def test_rescoring_a_submission_scores_it_again_from_scratch(
    task, broker, django_capture_on_commit_callbacks
):
    submission = new_submission(task)
    score_submission.run(submission_pk=submission.pk)
    submission.refresh_from_db()
    old_predictions, old_scores = submission.predictions.name, submission.scores
    assert submission.predictions.storage.exists(old_predictions)

    with django_capture_on_commit_callbacks(execute=True):
        submission_rescore(submission=submission)

    assert submission.status == SubmissionStatus.QUEUED
    assert (submission.scores, submission.public_score, submission.attempts) == ({}, None, 0)
    assert queued_submission_pks(broker) == [submission.pk]

    score_submission.run(submission_pk=submission.pk)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.SCORED and submission.scores == old_scores
    assert submission.predictions.name != old_predictions
    assert not submission.predictions.storage.exists(old_predictions)


def test_rescoring_a_task_requeues_all_its_submissions_and_only_them(
    module_tasks, broker, django_capture_on_commit_callbacks
):
    task, other = module_tasks["classification"], module_tasks["matching"]
    mine = [
        new_submission(task, status=status)
        for status in (SubmissionStatus.SCORED, SubmissionStatus.FAILED, SubmissionStatus.QUEUED)
    ]
    theirs = new_submission(other, status=SubmissionStatus.SCORED)

    with django_capture_on_commit_callbacks(execute=True):
        assert task_rescore(task=task) == 3

    assert queued_submission_pks(broker) == sorted(s.pk for s in mine)
    assert set(Submission.objects.filter(task=task).values_list("status", flat=True)) == {"queued"}
    theirs.refresh_from_db()
    assert theirs.status == SubmissionStatus.SCORED
