"""A board never ranks two phases' scores together (docs/decisions/0066-phases.md), even in
the minute between a phase's start by the clock and the beat's phase tick that rebuilds every
board: a score landing then rebuilds the whole board, not only its team's entry.

Found by the many-hosts run (``scripts/multihost.sh --quick --phases``): the final phase
opened by the clock, the final phase's uploads were scored, and before the tick the stored
board still held three teams' development-phase entries beside the final phase's."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from leaderboard.selectors import leaderboard_for_task
from scoring.models import SubmissionStatus
from scoring.services.lifecycle import submission_score
from scoring.services.upload import submission_create
from tests.challenges_tests.factories import UserFactory
from tests.scoring_tests.factories import csv_bytes, make_participant, predictions_frame, upload
from tests.support.phases import dev_then_final

pytestmark = pytest.mark.django_db

SWITCH_SECONDS = 2.0  # the final phase opens this long after the test's start


def scored(task, participant, *, wrong: float) -> None:
    file = upload(csv_bytes(predictions_frame(task, wrong=wrong)))
    submission = submission_create(task=task, user=participant.user, file=file)
    assert submission_score(submission_pk=submission.pk) == SubmissionStatus.SCORED


def board(task) -> list[str]:
    return [entry.team.name for entry in leaderboard_for_task(task=task)]


@pytest.mark.parametrize("feedback", ["live", "blind"])
def test_a_score_after_a_phase_starts_by_the_clock_drops_the_last_phases_entries(
    module_tasks, broker, feedback
):
    task = module_tasks["classification"]
    challenge = task.track.challenge
    switch = timezone.now() + timedelta(seconds=SWITCH_SECONDS)
    dev, final = dev_then_final(
        challenge=challenge,
        organizer=UserFactory(username="org", is_staff=True),
        dev_start=timezone.now() - timedelta(days=3),
        dev_end=switch,
        final_start=switch,
        final_end=switch + timedelta(days=5),
        feedback=feedback,
    )
    alice = make_participant(challenge, username="alice", name="Alpha")
    bob = make_participant(challenge, username="bob", name="Bravo")
    scored(task, alice, wrong=0.3)
    scored(task, bob, wrong=0.1)
    assert board(task) == ["Bravo", "Alpha"]  # the development phase's board

    time.sleep(max((switch - timezone.now()).total_seconds(), 0) + 0.1)
    scored(task, alice, wrong=0.2)  # no phase tick has run: only the clock moved

    entries = leaderboard_for_task(task=task)
    assert {entry.submission.phase_id for entry in entries} <= {final.pk}
    # Live: Alpha's final-phase entry alone (Bravo has none in this phase); blind: nothing
    # before the reveal.
    assert board(task) == (["Alpha"] if feedback == "live" else [])
