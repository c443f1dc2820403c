"""Concurrent uploads never take more than the daily limit (PostgreSQL row locks)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from scoring.models import Submission
from tests.scoring_tests.factories import (
    ChallengeFactory,
    api_client_for,
    csv_bytes,
    imported_task,
    make_participant,
    predictions_frame,
    upload,
)

UPLOADS, LIMIT = 20, 5


@pytest.fixture
def postgres(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip(
            "the concurrency test needs PostgreSQL (set DATABASE_URL=postgres://...): "
            "SQLite serializes every write transaction, so it cannot show the row lock at work"
        )


def test_twenty_concurrent_uploads_against_a_limit_of_five_accept_exactly_five(
    postgres, tmp_path, broker
):
    challenge = ChallengeFactory(daily_submission_limit=LIMIT)
    task = imported_task(tmp_path, challenge=challenge)
    alice = make_participant(challenge)
    teammates = [alice.user]
    for _ in range(3):  # four members of one team upload at once
        other = make_participant(challenge)
        other.team.memberships.update(team=alice.team)
        teammates.append(other.user)
    content = csv_bytes(predictions_frame(task))
    clients = [api_client_for(teammates[i % len(teammates)]) for i in range(UPLOADS)]
    start = threading.Barrier(UPLOADS)
    responses: list = [None] * UPLOADS

    def upload_one(i: int) -> None:
        try:
            start.wait()
            responses[i] = clients[i].post(
                f"/api/v1/tasks/{task.slug}/submissions/",
                {"file": upload(content)},
                format="multipart",
            )
        finally:
            connections.close_all()  # each thread had its own connection

    threads = [threading.Thread(target=upload_one, args=(i,)) for i in range(UPLOADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    codes = sorted(response.status_code for response in responses)
    assert codes == [201] * LIMIT + [429] * (UPLOADS - LIMIT)
    assert Submission.objects.filter(team=alice.team, task=task).count() == LIMIT
    reset = datetime.combine(
        (timezone.now().astimezone(UTC) + timedelta(days=1)).date(),
        datetime.min.time(),
        tzinfo=UTC,
    )
    for response in responses:
        if response.status_code == 429:
            assert datetime.fromisoformat(response.json()["retry_after"]) == reset
            assert int(response["Retry-After"]) > 0


def test_two_simultaneous_uploads_by_one_person_at_limit_minus_one_accept_exactly_one(
    postgres, tmp_path, broker
):
    """The per-person quota holds under concurrency: the person has used limit-1 slots with
    an earlier team, their current team has all its slots; two uploads at once, one wins."""
    from challenges.models import TeamMembership

    challenge = ChallengeFactory(daily_submission_limit=LIMIT)
    task = imported_task(tmp_path, challenge=challenge)
    hopper = make_participant(challenge)
    content = csv_bytes(predictions_frame(task))
    client = api_client_for(hopper.user)
    for _ in range(LIMIT - 1):
        response = client.post(
            f"/api/v1/tasks/{task.slug}/submissions/", {"file": upload(content)}, format="multipart"
        )
        assert response.status_code == 201, response.content
    new_team = make_participant(challenge).team
    TeamMembership.objects.filter(user=hopper.user).update(team=new_team)

    start = threading.Barrier(2)
    responses: list = [None, None]

    def upload_one(i: int) -> None:
        try:
            start.wait()
            responses[i] = api_client_for(hopper.user).post(
                f"/api/v1/tasks/{task.slug}/submissions/",
                {"file": upload(content)},
                format="multipart",
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=upload_one, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(r.status_code for r in responses) == [201, 429]
    assert Submission.objects.filter(uploaded_by=hopper.user, task=task).count() == LIMIT
    assert Submission.objects.filter(team=new_team, task=task).count() == 1


@pytest.mark.parametrize("teammates", [0, 1])
def test_a_leave_racing_the_first_upload_never_leaves_an_upload_outside_its_team(
    postgres, tmp_path, broker, teammates
):
    """Leave and first upload at once: either the leave wins (the upload is refused, nothing
    stored, the empty team gone) or the upload wins (the leave is refused: the roster is
    fixed). Never both, never a 500, whichever order the row lock gives."""
    from challenges.models import Team
    from challenges.services import TeamError, team_member_remove

    challenge = ChallengeFactory(daily_submission_limit=LIMIT)
    task = imported_task(tmp_path, challenge=challenge)
    person = make_participant(challenge)
    for _ in range(teammates):
        other = make_participant(challenge)
        other.team.memberships.update(team=person.team)
    content = csv_bytes(predictions_frame(task))
    start = threading.Barrier(2)
    outcome: dict = {}

    def do_upload() -> None:
        try:
            start.wait()
            outcome["upload"] = api_client_for(person.user).post(
                f"/api/v1/tasks/{task.slug}/submissions/",
                {"file": upload(content)},
                format="multipart",
            )
        finally:
            connections.close_all()

    def do_leave() -> None:
        try:
            start.wait()
            team_member_remove(user=person.user, team=Team.objects.get(pk=person.team.pk))
            outcome["leave"] = "left"
        except TeamError as exc:
            outcome["leave"] = exc.code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=do_upload), threading.Thread(target=do_leave)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    upload_code = outcome["upload"].status_code
    assert (upload_code, outcome["leave"]) in {(201, "team_locked"), (403, "left")}, (
        upload_code,
        outcome["leave"],
        outcome["upload"].content,
    )
    submissions = Submission.objects.filter(uploaded_by=person.user)
    if upload_code == 201:
        assert submissions.get().team_id == person.team.pk
        assert person.team.memberships.filter(user=person.user).exists()
    else:
        assert not submissions.exists()
        assert Team.objects.filter(pk=person.team.pk).exists() == bool(teammates)
