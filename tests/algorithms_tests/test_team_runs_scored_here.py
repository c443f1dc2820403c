"""A team's run scores its submission in its own worker (issue 54), in the real sandbox,
claimed in this process, with a real Redis broker.

The output check hands the worker what it aligned (``scoring.core.handed``, checked as
untrusted), and the submission is created through the upload's path and scored in the
transaction that succeeds the run (``scoring.services.lifecycle.submission_score_here``): no
second job, no second parse. Here that submission reads what an upload of the very file
the run wrote reads once scored the ordinary way (scores, row count, format, stored
predictions, digests); the upload's refusals still refuse it; a tampered hand-over fails
the run; a run that lost its claim, or a transaction that failed, leaves nothing behind; a
message delivered again changes nothing; and where scoring it here fails for the
platform's reason, the submission is queued for the scoring workers and scored there.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from algorithms.services import outcome
from algorithms.services.execute import algorithm_run_execute
from algorithms.services.outcome import HANDED_REFUSED
from algorithms.services.output import CheckedOutput
from challenges import upload_budget
from scoring.models import InsightDigest, Submission, SubmissionStatus
from scoring.services import lifecycle
from scoring.services.lifecycle import submission_score
from scoring.services.upload import submission_create
from scoring.task_names import SCORE_SUBMISSION
from testkit.archives import algorithm_zip
from tests.algorithms_tests.services_helpers import post_archive, queue
from tests.scoring_tests.factories import upload
from tests.support.broker import queued_messages, task_of

pytestmark = pytest.mark.slow

# Probabilities (classification) or scores (matching) with every label, in an order of
# rows other than the test set's: scoring aligns them, and log-loss and average precision
# apply. Parquet for one kind, CSV for the other.
RICH_MAIN = """
import json, os
from pathlib import Path
import numpy as np
import pandas as pd

task, out = Path(os.environ["TASK_DIR"]), Path(os.environ["OUTPUT_DIR"])
meta = json.loads((task / "task.json").read_text())
test = pd.read_parquet(task / "test.parquet")
rng = np.random.default_rng(7)
frame = pd.DataFrame({"id": test["id"]})
if meta["kind"] == "matching":
    frame["score"] = rng.random(len(test))
    frame["label"] = (frame["score"] > 0.5).astype(int)
    frame.sample(frac=1, random_state=3).to_csv(out / "predictions.csv", index=False)
else:
    classes = meta["classes"]
    proba = rng.dirichlet(np.ones(len(classes)), size=len(test))
    for j, name in enumerate(classes):
        frame[f"proba_{name}"] = proba[:, j]
    frame["label"] = [classes[j] for j in proba.argmax(axis=1)]
    frame.sample(frac=1, random_state=3).to_parquet(out / "predictions.parquet", index=False)
"""


def _queue_run(world, task) -> AlgorithmRun:
    client = world.participant.api()
    body = post_archive(client, world.challenge, algorithm_zip(RICH_MAIN, name="Rich")).json()
    (run,) = queue(client, body["id"], tasks=[task.slug]).json()["runs"]
    return AlgorithmRun.objects.get(pk=run["id"])


@pytest.fixture
def saves(monkeypatch) -> list[str]:
    """The names of submissions' files (uploads, stored predictions) their storage is asked
    to save in this process from now on (it stores algorithm archives too)."""
    saved: list[str] = []
    fields = (Submission._meta.get_field("file"), Submission._meta.get_field("predictions"))
    for storage in {id(f.storage): f.storage for f in fields}.values():
        real = storage.save

        def save(name, content, *args, _real=real, **kwargs):
            if name.startswith("submissions/"):  # scoring.models.submission_path
                saved.append(name)
            return _real(name, content, *args, **kwargs)

        monkeypatch.setattr(storage, "save", save)
    return saved


def _scoring_published(broker) -> list[int]:
    """The submissions a scoring message waits for on the broker."""
    found = []
    for message in queued_messages(broker, "scoring"):
        name, kwargs, _ = task_of(message)
        if name == SCORE_SUBMISSION:
            found.append(kwargs["submission_pk"])
    return found


def _own_digest(submission: Submission) -> dict:
    return InsightDigest.objects.get(submission=submission, reference__isnull=True).data


def _read(field) -> bytes:
    with field.open("rb") as handle:
        return handle.read()


def _scored_as_an_upload(world, task, file: Path) -> Submission:
    """The same file uploaded by the team and scored the ordinary way (queued, then a
    scoring worker's ``submission_score``)."""
    submission = submission_create(
        task=task, user=world.participant.user, file=upload(file.read_bytes(), name=file.name)
    )
    assert submission.status == SubmissionStatus.QUEUED
    assert submission_score(submission_pk=submission.pk) == SubmissionStatus.SCORED
    return Submission.objects.get(pk=submission.pk)


@pytest.mark.parametrize("kind", ["classification", "matching"])
def test_a_team_run_scores_its_submission_as_an_upload_of_its_file_is_scored(
    world, broker, after_the_check, kind
):
    task = world.classification if kind == "classification" else world.matching
    run = _queue_run(world, task)
    kept = after_the_check()
    assert algorithm_run_execute(run_pk=run.pk, worker="test-node") == "succeeded"
    run.refresh_from_db()
    assert kept["handed"] is not None  # the check handed over what it aligned
    here = run.submission
    assert here.status == SubmissionStatus.SCORED and here.error == ""
    assert (here.team, here.uploaded_by, here.attempts) == (
        world.participant.team,
        world.participant.user,
        1,
    )
    assert here.note.startswith("Algorithm Rich v1 (run #")
    assert _scoring_published(broker) == []  # no second job
    assert _read(here.file) == kept["file"].read_bytes()  # the file stored, as uploaded
    assert os.stat(here.file.path).st_ino == kept["inode"]  # moved from the run, not copied

    queued = _scored_as_an_upload(world, task, kept["file"])
    assert here.scores == queued.scores
    assert "log_loss" in here.scores["public"] or "average_precision" in here.scores["public"]
    assert (here.public_score, here.private_score) == (queued.public_score, queued.private_score)
    assert (here.row_count, here.file_format) == (queued.row_count, queued.file_format)
    assert here.row_count == task.test_rows
    assert here.scoring_seconds is not None and here.scoring_seconds >= 0
    assert _read(here.predictions) == _read(queued.predictions)
    assert _own_digest(here) == _own_digest(queued)


def _steal_the_claim(checked: CheckedOutput) -> CheckedOutput:
    """Another delivery takes the run between its check and its outcome."""
    AlgorithmRun.objects.filter(status=AlgorithmRunStatus.RUNNING).update(
        claim_token="another-delivery"
    )
    return checked


def test_a_run_that_lost_its_claim_submits_nothing_and_stores_nothing(
    world, broker, after_the_check, saves
):
    run = _queue_run(world, world.classification)
    after_the_check(_steal_the_claim)
    assert algorithm_run_execute(run_pk=run.pk, worker="test-node") == "superseded"
    assert not Submission.objects.exists()
    assert saves == []
    assert _scoring_published(broker) == []


def test_a_message_delivered_again_changes_nothing(world, broker):
    run = _queue_run(world, world.classification)
    assert algorithm_run_execute(run_pk=run.pk, delivery_id="delivery-1") == "succeeded"
    run.refresh_from_db()
    submission = run.submission
    before = Submission.objects.filter(pk=submission.pk).values().get()

    # The run's message again (its worker's acknowledgement lost), and a scoring message
    # for its submission (a republish, an organizer's tool): both find the work done.
    assert algorithm_run_execute(run_pk=run.pk, delivery_id="delivery-1") == "skipped"
    assert submission_score(submission_pk=submission.pk, delivery_id="delivery-2") == "skipped"
    assert Submission.objects.count() == 1
    assert Submission.objects.filter(pk=submission.pk).values().get() == before
    run.refresh_from_db()
    assert (run.status, run.submission_id) == (AlgorithmRunStatus.SUCCEEDED, submission.pk)


def test_a_transaction_failing_after_the_score_keeps_nothing_and_the_run_is_tried_again(
    world, broker, monkeypatch
):
    """The run's transaction fails after its submission was scored in it (the database
    lost at the commit, say): nothing of that try is kept, neither rows nor files, and the
    run, tried again, makes one scored submission."""
    run = _queue_run(world, world.classification)
    real, calls = outcome._succeed, []

    def fail_once(ending, **fields):
        calls.append(fields.get("submission"))
        if len(calls) == 1:
            assert Submission.objects.get().status == SubmissionStatus.SCORED  # in this try
            raise RuntimeError("the database went away")
        return real(ending, **fields)

    monkeypatch.setattr(outcome, "_succeed", fail_once)
    assert algorithm_run_execute(run_pk=run.pk, delivery_id="d-1") == AlgorithmRunStatus.QUEUED
    assert not Submission.objects.exists()
    first = calls[0]
    for field in (first.file, first.predictions):
        assert field.name and not field.storage.exists(field.name)

    # Tried again once its backoff has passed (until then no message claims it: its due_at).
    assert algorithm_run_execute(run_pk=run.pk, delivery_id="d-early") == "skipped"
    AlgorithmRun.objects.filter(pk=run.pk).update(due_at=timezone.now() - timedelta(seconds=1))
    assert algorithm_run_execute(run_pk=run.pk, delivery_id="d-2") == "succeeded"
    run.refresh_from_db()
    assert Submission.objects.get() == run.submission
    assert run.submission.status == SubmissionStatus.SCORED and run.attempts == 2


def test_an_error_after_the_commit_keeps_the_scored_submission_and_its_files(
    world, broker, monkeypatch
):
    """Work after the commit fails (here the digests, raising): the run and its submission
    stay as committed, scored, and their files stay with them."""
    run = _queue_run(world, world.classification)

    def broken(**kwargs):
        raise RuntimeError("after the commit")

    monkeypatch.setattr(lifecycle, "_store_digests", broken)
    assert algorithm_run_execute(run_pk=run.pk, delivery_id="d-1") == "superseded"
    run.refresh_from_db()
    assert run.status == AlgorithmRunStatus.SUCCEEDED
    submission = run.submission
    assert submission.status == SubmissionStatus.SCORED
    for field in (submission.file, submission.predictions):
        assert field.name and field.storage.exists(field.name)


def test_a_refusal_of_the_upload_fails_the_run_with_its_words(world, broker, saves):
    """The team used its last submission of the day while the run ran (the run's request
    was admitted before): the upload's check refuses the run's submission."""
    task = world.classification
    world.challenge.daily_submission_limit = 1
    world.challenge.save()
    run = _queue_run(world, task)
    first = submission_create(
        task=task,
        user=world.participant.user,
        file=upload(b"id,label\nx,y\n", name="first.csv"),
    )
    saved_before = len(saves)
    assert algorithm_run_execute(run_pk=run.pk, worker="test-node") == "failed"
    run.refresh_from_db()
    assert run.error.startswith(
        "the predictions were not submitted: Your team has used its 1 submissions for this "
        "task today"
    )
    assert run.submission is None
    assert list(Submission.objects.all()) == [first]
    assert saves[saved_before:] == []  # nothing stored, not even for a moment


def test_a_run_over_the_team_s_storage_quota_fails_with_its_words_and_keeps_no_file(
    world, broker, saves, monkeypatch
):
    """The team's storage is full (its quota taken while the run ran): the run's file is
    checked under the team's lock, as an upload's, and whatever was stored on the way goes."""
    run = _queue_run(world, world.classification)
    monkeypatch.setattr(upload_budget, "team_storage_quota", lambda: 1)
    assert algorithm_run_execute(run_pk=run.pk, worker="test-node") == "failed"
    run.refresh_from_db()
    assert run.error.startswith(
        "the predictions were not submitted: Your team's storage quota is 1 byte"
    ), run.error
    assert run.submission is None and not Submission.objects.exists()
    storage = Submission._meta.get_field("file").storage
    assert saves and not any(storage.exists(name) for name in saves)


def _forged(checked: CheckedOutput) -> CheckedOutput:
    """A hand-over whose bytes are not what the check wrote (a process the hostile file took
    over would write such): refused by its identity before a byte is read."""
    checked.handed.path.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    return checked


def test_a_refused_hand_over_fails_the_team_run_and_submits_nothing(
    world, broker, after_the_check, saves
):
    run = _queue_run(world, world.classification)
    after_the_check(_forged)
    assert algorithm_run_execute(run_pk=run.pk, worker="test-node") == "failed"
    run.refresh_from_db()
    assert run.error.startswith(HANDED_REFUSED)
    assert "it is not the file the check wrote" in run.error
    assert run.submission is None and not Submission.objects.exists()
    assert saves == []


def _scoring_the_hand_over_breaks(monkeypatch) -> None:
    def broken(**kwargs):
        raise RuntimeError("a fault of the platform's")

    monkeypatch.setattr(outcome, "scored_in_worker", broken)


def _storing_its_predictions_breaks(monkeypatch) -> None:
    real = lifecycle._store_predictions

    def broken(*, submission, data, token):
        real(submission=submission, data=data, token=token)  # stored, then the fault
        raise lifecycle._InternalError("storing the predictions failed")

    monkeypatch.setattr(lifecycle, "_store_predictions", broken)


@pytest.mark.parametrize(
    "fault",
    [_scoring_the_hand_over_breaks, _storing_its_predictions_breaks],
    ids=["score", "store"],
)
def test_where_scoring_it_here_fails_the_submission_is_queued_and_scored_by_a_worker(
    world, broker, after_the_check, saves, monkeypatch, fault
):
    task = world.classification
    run = _queue_run(world, task)
    kept = after_the_check()
    fault(monkeypatch)
    assert algorithm_run_execute(run_pk=run.pk, worker="test-node") == "succeeded"
    run.refresh_from_db()
    submission = run.submission
    assert (submission.status, submission.attempts) == (SubmissionStatus.QUEUED, 0)
    assert not submission.predictions and not submission.scores
    assert not InsightDigest.objects.filter(submission=submission).exists()
    assert _scoring_published(broker) == [submission.pk]  # once, on commit
    storage = Submission._meta.get_field("predictions").storage
    assert not [name for name in saves if "predictions-" in name and storage.exists(name)]

    monkeypatch.undo()  # the scoring worker's own code
    assert submission_score(submission_pk=submission.pk) == SubmissionStatus.SCORED
    submission.refresh_from_db()
    run.refresh_from_db()
    assert run.status == AlgorithmRunStatus.SUCCEEDED
    queued = _scored_as_an_upload(world, task, kept["file"])
    assert submission.scores == queued.scores
    assert _read(submission.predictions) == _read(queued.predictions)
