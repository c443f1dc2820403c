"""A run's status read that waits (``GET /api/v1/algorithm-runs/<id>/?wait=N``:
jobs/api_wait.py, docs/decisions/0057-a-status-wait-is-a-held-answer.md): held until the run
has finished and its submission is scored, as ``chal algorithm submit --wait`` waits."""

from __future__ import annotations

import threading
import time

import pytest

from algorithms.models import AlgorithmRun
from algorithms.services import outcome
from algorithms.services.execute import algorithm_run_execute
from scoring.models import SubmissionStatus
from scoring.services.lifecycle import submission_score
from scoring.task_names import SCORE_SUBMISSION
from testkit.archives import algorithm_zip
from tests.algorithms_tests.services_helpers import post_archive, queue
from tests.support.broker import queued_messages, task_of


def _held_read(world, client) -> tuple[dict, list, threading.Thread]:
    """A team's run queued on the classification task, and a read of its status held (up to
    60 s) in a thread: the run, the answers the thread gets, the thread."""
    algorithm = post_archive(client, world.challenge, algorithm_zip()).json()
    (run,) = queue(client, algorithm["id"], tasks=[world.classification.slug]).json()["runs"]
    url = f"/api/v1/algorithm-runs/{run['id']}/?wait=60"
    answers: list = []
    reader = threading.Thread(target=lambda: answers.append(world.participant.api().get(url)))
    reader.start()
    return run, answers, reader


@pytest.mark.django_db(transaction=True)
def test_a_held_run_read_answers_once_the_run_and_its_submission_are_final(
    world, broker, monkeypatch
):
    # Its file not scored in the run's worker (the fallback): the submission is queued.
    monkeypatch.setattr(outcome, "team_scored", lambda **kwargs: None)
    client = world.participant.api()
    run, answers, reader = _held_read(world, client)
    assert algorithm_run_execute(run_pk=run["id"], delivery_id="delivery-1") == "succeeded"
    time.sleep(0.3)
    assert not answers  # the run succeeded, its submission is still queued: held
    tag = client.get(f"/api/v1/algorithm-runs/{run['id']}/")["ETag"]
    submission = client.get(f"/api/v1/algorithm-runs/{run['id']}/").json()["submission"]
    assert submission_score(submission_pk=submission) == SubmissionStatus.SCORED
    reader.join(timeout=60)

    (answer,) = answers
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "succeeded" and body["submission_status"] == "scored"
    assert answer["ETag"] != tag  # the submission's score is part of the run's state


@pytest.mark.django_db(transaction=True)
def test_a_run_scored_in_its_worker_answers_a_held_read_with_no_scoring_job(world, broker):
    """Its submission is scored in the transaction that succeeds the run: a read held until
    the run is final answers once the run's worker is done, with the score; no scoring job
    was published (none is needed)."""
    client = world.participant.api()
    run, answers, reader = _held_read(world, client)
    assert algorithm_run_execute(run_pk=run["id"], delivery_id="delivery-1") == "succeeded"
    reader.join(timeout=60)

    (answer,) = answers
    body = answer.json()
    assert (body["status"], body["submission_status"]) == ("succeeded", "scored")
    assert body["submission"] is not None
    published = [task_of(message)[0] for message in queued_messages(broker, "scoring")]
    assert SCORE_SUBMISSION not in published


@pytest.mark.django_db(transaction=True)
def test_a_run_deleted_while_its_read_is_held_answers_404_not_an_error(world, broker):
    """The read checked the run before its wait; deleted meanwhile (its task removed by an
    organizer), the answer after the wait says there is no such run."""
    client = world.participant.api()
    run, answers, reader = _held_read(world, client)
    time.sleep(0.3)  # the read is holding
    AlgorithmRun.objects.filter(pk=run["id"]).delete()
    reader.join(timeout=60)

    (answer,) = answers
    assert answer.status_code == 404, answer.content
    assert answer.json()["detail"] == "There is no such algorithm run."
