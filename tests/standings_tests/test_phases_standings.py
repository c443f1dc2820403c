"""The standings freeze from the final phase only (docs/decisions/0066-phases.md): a
development phase's entries, however good, are in no frozen board; final selections are
chosen within the final phase; one phase freezes as before phases (test_freeze.py)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from scoring.models import Submission
from scoring.services.finals import submission_final_set
from scoring.services.upload import SubmissionRefused
from standings.services import challenge_finish
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory, UserFactory, add_member
from tests.leaderboard_tests.factories import make_task, make_team, scored
from tests.support.phases import dev_then_final

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    now = timezone.now().replace(microsecond=0)
    challenge = ChallengeFactory(slug="two", start=now - timedelta(days=30), end=now)
    organizer = UserFactory(username="org", is_staff=True)
    dev, final = dev_then_final(
        challenge=challenge,
        organizer=organizer,
        dev_end=now - timedelta(days=10),
        final_start=now - timedelta(days=5),
        final_end=now + timedelta(days=1),
    )
    challenge.refresh_from_db()
    task = make_task(TrackFactory(challenge=challenge, slug="trk"), slug="two-task")
    return challenge, task, dev, final


def entry(task, team, public, private, phase, minutes):
    sub = scored(task, team, public, private, minutes=minutes)
    Submission.objects.filter(pk=sub.pk).update(phase=phase)
    sub.refresh_from_db()
    return sub


def test_the_standings_rank_the_final_phases_entries_only(world):
    challenge, task, dev, final = world
    ann, bo = make_team(challenge, "ann"), make_team(challenge, "bo")
    dev_best = entry(task, ann, 0.99, 0.99, dev, minutes=0)  # the best of all, in dev
    ann_final = entry(task, ann, 0.61, 0.6, final, minutes=10)
    bo_final = entry(task, bo, 0.71, 0.7, final, minutes=20)
    frozen, created = challenge_finish(challenge=challenge, force=True)
    assert created
    doc = json.loads(frozen.canonical)
    (board,) = doc["tasks"]
    ranked = [(e["team"], e["submission"]) for e in board["entries"]]
    assert ranked == [("bo", bo_final.pk), ("ann", ann_final.pk)]
    assert dev_best.pk not in {e["submission"] for e in board["entries"]}


def test_final_entries_are_chosen_within_the_final_phase(world):
    challenge, task, dev, final = world
    team = make_team(challenge, "ann")
    member = UserFactory()
    add_member(team, member)
    in_dev = entry(task, team, 0.8, 0.8, dev, minutes=0)
    in_final = entry(task, team, 0.7, 0.7, final, minutes=10)
    with pytest.raises(SubmissionRefused) as caught:
        submission_final_set(submission=in_dev, user=member, final=True)
    assert caught.value.code == "not_final_phase"
    submission_final_set(submission=in_final, user=member, final=True)
    assert Submission.objects.get(pk=in_final.pk).is_final


def test_ending_early_ends_the_open_phase_then_and_freezes_from_the_final_one(world):
    from standings.services import challenge_end_now

    challenge, task, dev, final = world
    organizer = UserFactory(username="org2", is_staff=True)
    team = make_team(challenge, "ann")
    in_final = entry(task, team, 0.7, 0.7, final, minutes=10)
    at = timezone.now()
    frozen, created = challenge_end_now(
        challenge=challenge, actor=organizer, reason="the data leaked", now=at
    )
    assert created
    final.refresh_from_db()
    assert final.end == at and challenge.end == at
    (board,) = json.loads(frozen.canonical)["tasks"]
    assert [e["submission"] for e in board["entries"]] == [in_final.pk]
