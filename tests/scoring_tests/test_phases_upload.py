"""Submissions belong to a phase (docs/decisions/0066-phases.md): an upload records the phase
open at its arrival, an upload between two phases is refused ``no_open_phase`` (on the API as
on the page), the post-challenge board after the end takes uploads as before phases, and a
phase's dates that move never move a submission."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from challenges.models import Challenge, Phase
from challenges.phases import phase_create, phase_update
from scoring.models import Submission
from scoring.services.upload import SubmissionRefused, submission_create
from tests.challenges_tests.factories import UserFactory
from tests.scoring_tests.factories import csv_bytes, make_participant, predictions_frame, upload
from tests.support.phases import dev_then_final

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(module_tasks):
    return module_tasks["classification"]


@pytest.fixture
def organizer():
    return UserFactory(username="org", is_staff=True)


def two_phases(challenge: Challenge, organizer, *, dev_open: bool = True) -> tuple[Phase, Phase]:
    """``main`` becomes ``dev`` (open now, or ended an hour ago) and a blind ``final`` phase
    follows in two days."""
    now = timezone.now()
    return dev_then_final(
        challenge=challenge,
        organizer=organizer,
        dev_start=now - timedelta(days=3),
        dev_end=now + timedelta(days=1) if dev_open else now - timedelta(hours=1),
        final_start=now + timedelta(days=2),
        final_end=now + timedelta(days=9),
    )


def send(task, user):
    return submission_create(task=task, user=user, file=upload(csv_bytes(predictions_frame(task))))


def test_one_phase_is_the_challenge_with_its_own_dates(task):
    challenge = task.track.challenge
    (main,) = challenge.phases.all()
    assert (main.slug, main.start, main.end, main.final) == (
        "main",
        challenge.start,
        challenge.end,
        True,
    )
    challenge.end = challenge.end + timedelta(days=5)
    challenge.save()
    main.refresh_from_db()
    assert main.end == challenge.end, "one phase follows the challenge's dates"


def test_an_upload_records_the_phase_open_at_its_arrival(task, organizer, broker):
    challenge = task.track.challenge
    dev, _final = two_phases(challenge, organizer)
    alice = make_participant(challenge, username="alice")
    submission = send(task, alice.user)
    assert submission.phase == dev
    challenge.refresh_from_db()
    assert challenge.end == _final.end, "the challenge's end is its phases' span"


def test_an_upload_between_phases_is_refused_no_open_phase(task, organizer, broker):
    challenge = task.track.challenge
    two_phases(challenge, organizer, dev_open=False)
    alice = make_participant(challenge, username="alice")
    before = Submission.objects.count()
    with pytest.raises(SubmissionRefused) as caught:
        send(task, alice.user)
    assert (caught.value.code, caught.value.http_status) == ("no_open_phase", 403)
    assert "next phase opens" in caught.value.message
    response = alice.api().post(
        f"/api/v1/tasks/{task.slug}/submissions/",
        {"file": upload(csv_bytes(predictions_frame(task)))},
        format="multipart",
    )
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "no_open_phase"
    assert Submission.objects.count() == before, "a refusal creates nothing"


def test_after_the_last_phase_uploads_go_to_the_post_challenge_board(task, broker):
    challenge = task.track.challenge
    now = timezone.now()
    challenge.start, challenge.end = now - timedelta(days=5), now - timedelta(days=1)
    challenge.save()
    alice = make_participant(challenge, username="alice")
    submission = send(task, alice.user)
    assert submission.phase is None


def test_a_date_change_moves_no_submission(task, organizer, broker):
    challenge = task.track.challenge
    dev, final = two_phases(challenge, organizer)
    alice = make_participant(challenge, username="alice")
    submission = send(task, alice.user)
    # The final phase moved to start before the dev submission's arrival; dev ends earlier.
    phase_update(
        phase=dev,
        actor=organizer,
        values={"end": submission.created_at - timedelta(hours=2)},
        reason="the development phase ends earlier",
    )
    phase_update(
        phase=final,
        actor=organizer,
        values={"start": submission.created_at - timedelta(hours=1)},
        reason="the final phase starts earlier",
    )
    submission.refresh_from_db()
    assert submission.phase == dev, "a submission keeps the phase it arrived in"


def test_a_phase_cap_over_its_span_refuses_the_next_upload(task, organizer, broker, settings):
    settings.TEAM_UPLOAD_RATE = "0"
    challenge = task.track.challenge
    phase_update(
        phase=challenge.phases.get(),
        actor=organizer,
        values={"max_submissions": 1, "daily_submission_limit": 9},
        reason="one entry per team in this phase",
    )
    alice = make_participant(challenge, username="alice")
    send(task, alice.user)
    with pytest.raises(SubmissionRefused) as caught:
        send(task, alice.user)
    assert caught.value.code == "max_submissions"


@pytest.mark.parametrize(
    "values",
    [
        {"slug": "late", "title": "x", "start": 0, "end": -1},  # ends before it starts
        {"slug": "over", "title": "x", "start": -3, "end": 5},  # overlaps main
        {"slug": "main", "title": "x", "start": 400, "end": 500},  # a slug reused
    ],
)
def test_a_phase_refused_changes_nothing(task, organizer, values):
    from challenges.models import AuditEvent
    from challenges.phases import PhaseRefused

    challenge = task.track.challenge
    later = challenge.end + timedelta(days=1)
    values = {
        **values,
        "start": later + timedelta(days=values["start"]),
        "end": later + timedelta(days=values["end"]),
    }
    before = (Phase.objects.count(), AuditEvent.objects.count(), challenge.end)
    with pytest.raises(PhaseRefused):
        phase_create(challenge=challenge, actor=organizer, values=values, reason="why")
    challenge.refresh_from_db()
    assert (Phase.objects.count(), AuditEvent.objects.count(), challenge.end) == before
