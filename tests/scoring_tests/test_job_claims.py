"""Claims: which worker holds a running job, and taking jobs back from a dead one.

The lifecycle (:mod:`jobs.lifecycle`) is exercised on submissions, in this process,
as if it were a worker (its holder set); ``test_faults.py`` does it with real workers.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from challenges import hooks
from jobs import holders, lifecycle, liveness, sweeps
from jobs.models import JobClaim
from jobs.registry import registered
from scoring.models import Submission, SubmissionStatus
from scoring.services.lifecycle import INTERNAL_ERROR_MESSAGE, SCORING
from scoring.services.sweep import submissions_sweep
from scoring.services.upload import submission_create
from tests.scoring_tests.factories import csv_bytes, make_participant, predictions_frame, upload
from tests.support.broker import queued_submission_pks

pytestmark = pytest.mark.django_db

DEAD = "scoring@host-a#0badb0075eed"
ALIVE = "scoring@host-b#a11ve0000000"


@pytest.fixture(autouse=True)
def _attempts(settings):
    settings.SCORING_MAX_ATTEMPTS = 3


@pytest.fixture
def task(module_tasks):
    return module_tasks["classification"]


@pytest.fixture
def as_worker(monkeypatch):
    """This process claims as the worker ``holder`` (as a pool process of it would)."""

    def become(holder: str) -> None:
        monkeypatch.setattr(liveness, "_holder", holder)

    return become


def new_submission(task) -> Submission:
    who = make_participant(task.track.challenge)
    return submission_create(
        task=task, user=who.user, file=upload(csv_bytes(predictions_frame(task)))
    )


def claim(submission: Submission, token: str) -> Submission:
    claimed = lifecycle.job_claim(
        job_type=SCORING, pk=submission.pk, token=token, delivery_id=token
    )
    assert claimed is not None
    return claimed


def live_claims(pk: int) -> list[tuple[str, str]]:
    rows = JobClaim.objects.filter(job_type=SCORING.key, object_id=pk, lost_at__isnull=True)
    return list(rows.values_list("holder", "token"))


def test_a_claim_in_a_worker_records_its_holder_and_finishing_removes_it(task, as_worker):
    as_worker(DEAD)
    submission = claim(new_submission(task), "delivery-1")
    assert live_claims(submission.pk) == [(DEAD, "delivery-1")]

    assert lifecycle.job_transition(
        job_type=SCORING, pk=submission.pk, token="delivery-1", status=SubmissionStatus.SCORED
    )
    assert JobClaim.objects.count() == 0


def test_a_claim_returns_the_row_as_stored_with_its_relations_read_under_one_lock(task):
    """The claimed row is returned as locked and updated (no second read), with its
    ``select_related`` read in the locking query; only the job's own row is locked."""
    submission = new_submission(task)
    with CaptureQueriesContext(connection) as seen:
        claimed = lifecycle.job_claim(
            job_type=SCORING, pk=submission.pk, token="t", delivery_id="t", select_related=("task",)
        )
    stored = Submission.objects.get(pk=submission.pk)
    assert claimed.status == SubmissionStatus.SCORING and claimed.attempts == 1
    fields = [f.attname for f in Submission._meta.concrete_fields]
    assert [getattr(claimed, f) for f in fields] == [getattr(stored, f) for f in fields]
    (read,) = [q["sql"] for q in seen.captured_queries if q["sql"].startswith("SELECT")]
    assert '"datasets_task"' in read
    if connection.vendor == "postgresql":  # SQLite has no row locks
        assert read.endswith('FOR UPDATE OF "scoring_submission"')
    with CaptureQueriesContext(connection) as after:
        assert claimed.task.slug == task.slug
    assert after.captured_queries == []


def test_a_retry_releases_the_claim_and_a_claim_outside_a_worker_records_nothing(
    task, as_worker, broker
):
    as_worker(DEAD)
    submission = claim(new_submission(task), "delivery-1")
    assert lifecycle.job_requeue(job_type=SCORING, job=submission, token="delivery-1")
    assert JobClaim.objects.count() == 0

    as_worker("")
    claim(Submission.objects.get(pk=submission.pk), "delivery-2")
    assert JobClaim.objects.count() == 0


def test_a_redelivery_keeps_the_lost_claim_and_holds_the_job_under_its_new_worker(task, as_worker):
    as_worker(DEAD)
    submission = claim(new_submission(task), "delivery-1")
    as_worker(ALIVE)
    claim(Submission.objects.get(pk=submission.pk), "delivery-1")  # same message, again

    assert live_claims(submission.pk) == [(ALIVE, "delivery-1")]
    lost = JobClaim.objects.get(object_id=submission.pk, lost_at__isnull=False)
    assert (lost.holder, lost.lost_reason) == (DEAD, lifecycle.REDELIVERED)


def test_a_dead_holder_s_jobs_are_requeued_or_failed_and_nothing_else_is_touched(
    task, as_worker, broker, django_capture_on_commit_callbacks, monkeypatch
):
    finished = []
    monkeypatch.setattr(hooks, "emit", lambda *, event: finished.append(event))
    as_worker(DEAD)
    retried = claim(new_submission(task), "d-retried")
    exhausted = claim(new_submission(task), "d-exhausted")
    Submission.objects.filter(pk=exhausted.pk).update(attempts=3)
    taken_over = claim(new_submission(task), "d-taken-over")
    # Another delivery took this one over meanwhile: the dead holder's claim is stale.
    Submission.objects.filter(pk=taken_over.pk).update(claim_token="someone-else")
    as_worker(ALIVE)
    alive = claim(new_submission(task), "d-alive")

    with django_capture_on_commit_callbacks(execute=True):
        report = sweeps.jobs_sweep_lost(holder=DEAD, reason="its worker stopped beating")

    assert (report.requeued, report.failed) == ([retried.pk], [exhausted.pk])
    assert queued_submission_pks(broker) == [retried.pk]
    states = dict(Submission.objects.values_list("pk", "status"))
    assert states == {
        retried.pk: SubmissionStatus.QUEUED,
        exhausted.pk: SubmissionStatus.FAILED,
        taken_over.pk: SubmissionStatus.SCORING,
        alive.pk: SubmissionStatus.SCORING,
    }
    assert Submission.objects.get(pk=exhausted.pk).error == INTERNAL_ERROR_MESSAGE
    assert finished == [hooks.SubmissionFinished(submission_id=exhausted.pk)]  # the team hears
    lost = JobClaim.objects.filter(lost_at__isnull=False).order_by("object_id")
    assert [(c.object_id, c.holder, c.lost_reason) for c in lost] == [
        (retried.pk, DEAD, "its worker stopped beating"),
        (exhausted.pk, DEAD, "its worker stopped beating"),
    ]
    # The stale claim is dropped; the live worker's claim stays.
    assert list(JobClaim.objects.filter(lost_at__isnull=True).values_list("holder", flat=True)) == [
        ALIVE
    ]
    assert holders.claim_holders() == [ALIVE]

    # Twice is harmless: nothing of the dead holder is left.
    again = sweeps.jobs_sweep_lost(holder=DEAD, reason="again")
    assert (again.requeued, again.failed) == ([], [])


def test_the_stale_sweeper_records_why_it_took_a_running_job(task, as_worker, broker, settings):
    settings.SWEEPER_STALE_AFTER_SECONDS = 60
    as_worker(DEAD)
    submission = claim(new_submission(task), "delivery-1")
    Submission.objects.filter(pk=submission.pk).update(
        status_changed_at=timezone.now() - timedelta(seconds=120)
    )
    assert submissions_sweep().requeued == [submission.pk]
    lost = JobClaim.objects.get(object_id=submission.pk)
    assert (lost.holder, lost.lost_reason) == (DEAD, lifecycle.STALE)
    assert lost.lost_at is not None


def test_every_job_type_is_registered_at_start_and_decides_what_a_lost_worker_s_job_becomes():
    types = {
        "scoring.tasks.score_submission",
        "algorithms.tasks.run_algorithm",
        "algorithms.tasks.run_baseline",
        "notifications.tasks.deliver_webhook",
        "notifications.tasks.send_notification_mail",
        "scoring.tasks.build_trivial_reference",
        "leaderboard.tasks.check_champion",
        "datasets.tasks.check_task_version",
    }
    assert types == {job_type.key for job_type in registered()}  # by the apps' ready()
    assert types <= set(holders._LOST)
