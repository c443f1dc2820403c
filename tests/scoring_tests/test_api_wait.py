"""A status read that waits for the status to change (``GET submissions/<id>/?wait=N``:
jobs/api_wait.py, docs/decisions/0057-a-status-wait-is-a-held-answer.md): held while the
status is the client's, answered when a worker moves it, bounded, capped per process."""

from __future__ import annotations

import threading
import time

import pytest
from django.test import override_settings
from django.utils import timezone

from jobs import lifecycle
from scoring.job_types import SCORING
from scoring.models import Submission, SubmissionStatus
from tests.scoring_tests.factories import (
    Participant,
    UserFactory,
    add_member,
    imported_task,
    make_participant,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(tmp_path):
    task = imported_task(tmp_path, rows=40)
    alice = make_participant(task.track.challenge, username="alice", name="Alpha")
    submission = Submission.objects.create(
        task=task,
        team=alice.team,
        uploaded_by=alice.user,
        file="x.csv",
        status=SubmissionStatus.QUEUED,
        status_changed_at=timezone.now(),
    )
    return alice, submission


def _url(submission: Submission, wait: str | None = None) -> str:
    url = f"/api/v1/submissions/{submission.pk}/"
    return url if wait is None else f"{url}?wait={wait}"


def test_every_answer_tags_the_status_and_a_plain_read_of_that_tag_is_not_modified(world):
    alice, submission = world
    first = alice.api().get(_url(submission))
    assert first.status_code == 200 and first["ETag"].startswith('W/"')

    again = alice.api().get(_url(submission), HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304 and again["ETag"] == first["ETag"]


def test_a_wait_on_an_unchanged_status_ends_not_modified_after_its_time(world):
    alice, submission = world
    tag = alice.api().get(_url(submission))["ETag"]

    held = alice.api().get(_url(submission, "0.3"), HTTP_IF_NONE_MATCH=tag)

    assert held.status_code == 304
    assert "Retry-After" not in held


def test_a_held_read_answers_with_the_new_status_once_a_worker_moves_it(world):
    alice, submission = world
    tag = alice.api().get(_url(submission))["ETag"]
    answers = []

    def read() -> None:
        answers.append(alice.api().get(_url(submission, "30"), HTTP_IF_NONE_MATCH=tag))

    reader = threading.Thread(target=read)
    started = time.monotonic()
    reader.start()
    time.sleep(0.3)  # the read is held meanwhile (its answer comes after the claim)
    assert not answers
    claimed = lifecycle.job_claim(job_type=SCORING, pk=submission.pk, token="delivery-1")
    assert claimed is not None
    reader.join(timeout=30)

    (answer,) = answers
    assert answer.status_code == 200
    assert answer.json()["status"] == "scoring"
    assert answer["ETag"] != tag
    assert time.monotonic() - started < 25  # woken by the change, not by its 30 s


def test_without_a_tag_a_wait_ends_when_the_submission_is_final(world):
    alice, submission = world
    lifecycle.job_claim(job_type=SCORING, pk=submission.pk, token="delivery-1")
    answers = []
    reader = threading.Thread(
        target=lambda: answers.append(alice.api().get(_url(submission, "30")))
    )
    reader.start()
    time.sleep(0.3)
    assert not answers  # "scoring" is not final: still held
    lifecycle.job_transition(
        job_type=SCORING,
        pk=submission.pk,
        token="delivery-1",
        status=SubmissionStatus.FAILED,
        error="x",
    )
    reader.join(timeout=30)

    assert answers[0].status_code == 200 and answers[0].json()["status"] == "failed"
    # Final already: answered at once.
    assert alice.api().get(_url(submission, "30")).json()["status"] == "failed"


@pytest.mark.parametrize("wait", ["-1", "soon", "nan", "inf"])
def test_a_wait_that_is_not_a_number_of_seconds_is_refused(world, wait):
    alice, submission = world

    answer = alice.api().get(_url(submission, wait))

    assert answer.status_code == 400
    assert "wait" in answer.json()


@override_settings(API_WAIT_MAX_WAITERS=0)
def test_past_the_processes_waiting_places_a_read_answers_at_once_and_says_when_to_ask(world):
    alice, submission = world
    tag = alice.api().get(_url(submission))["ETag"]

    answer = alice.api().get(_url(submission, "30"), HTTP_IF_NONE_MATCH=tag)

    assert answer.status_code == 304
    assert answer["Retry-After"] == "1"


def test_someone_elses_submission_is_not_found_whatever_the_wait(world):
    _, submission = world
    bob = make_participant(submission.task.track.challenge, username="bob", name="Beta")

    answer = bob.api().get(_url(submission, "5"))

    assert answer.status_code == 404


@override_settings(
    API_WAIT_MAX_WAITERS=4, API_WAIT_MAX_WAITERS_PER_TEAM=2, API_WAIT_MAX_WAITERS_PER_PERSON=1
)
def test_40_held_waits_of_one_team_leave_another_team_s_wait_held(world):
    """Issue 66: one team's waits fill at most its share of the process's places, one
    person's at most theirs; another team's ``chal --wait`` is still held, not sent back to
    polling (``Retry-After``)."""
    from django.db import connection

    alice, submission = world
    challenge = submission.task.track.challenge
    mates = [alice]
    for i in range(2):
        mate = UserFactory(username=f"mate{i}")
        add_member(alice.team, mate)
        mates.append(Participant(user=mate, team=alice.team))
    bob = make_participant(challenge, username="bob", name="Beta")
    bobs = Submission.objects.create(
        task=submission.task, team=bob.team, uploaded_by=bob.user, file="y.csv",
        status=SubmissionStatus.QUEUED, status_changed_at=timezone.now(),
    )  # fmt: skip
    tag = alice.api().get(_url(submission))["ETag"]
    hostile: list = []

    def hold(who) -> None:
        try:
            hostile.append(who.api().get(_url(submission, "20"), HTTP_IF_NONE_MATCH=tag))
        finally:
            connection.close()

    threads = [threading.Thread(target=hold, args=(mates[i % 3],)) for i in range(40)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(hostile) < 38 and time.monotonic() < deadline:
        time.sleep(0.05)
    # All but the team's two places answered at once, telling the client when to ask again.
    assert len(hostile) == 38 and all(a["Retry-After"] == "1" for a in hostile)

    bob_tag = bob.api().get(_url(bobs))["ETag"]
    answers = []

    def bobs_wait() -> None:
        try:
            answers.append(bob.api().get(_url(bobs, "30"), HTTP_IF_NONE_MATCH=bob_tag))
        finally:
            connection.close()

    reader = threading.Thread(target=bobs_wait)
    reader.start()
    time.sleep(0.3)
    assert not answers  # held, not sent back to polling
    assert lifecycle.job_claim(job_type=SCORING, pk=bobs.pk, token="delivery-b") is not None
    reader.join(timeout=30)
    (answer,) = answers
    assert answer.status_code == 200 and answer.json()["status"] == "scoring"
    assert "Retry-After" not in answer
    lifecycle.job_claim(
        job_type=SCORING, pk=submission.pk, token="delivery-a"
    )  # ends the team's two
    for thread in threads:
        thread.join(timeout=30)
    assert len(hostile) == 40 and sum("Retry-After" not in a for a in hostile) == 2
