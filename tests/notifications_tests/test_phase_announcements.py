"""A phase's start and end are announced once, by mail and by the ``phase`` webhook event
(docs/decisions/0066-phases.md); a challenge of one phase announces nothing, as before
phases; the boards switch to the phase that opened."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from challenges.models import Phase
from challenges.phases import phase_create, phase_transitions_announce, phase_update
from leaderboard.models import LeaderboardEntry
from notifications.models import MailDelivery, Webhook, WebhookDelivery
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory, UserFactory, add_member
from tests.leaderboard_tests.factories import make_task, make_team, scored

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(redis_server):
    now = timezone.now()
    challenge = ChallengeFactory(
        slug="phased", title="Phased", start=now - timedelta(days=5), end=now + timedelta(days=2)
    )
    task = make_task(TrackFactory(challenge=challenge, slug="trk"), slug="phased-task")
    team = make_team(challenge, "ann-team")
    add_member(team, UserFactory(email="ann@example.org"))
    Webhook.objects.create(challenge=challenge, url="https://hooks.example.com/x", secret="s")
    organizer = UserFactory(username="org", is_staff=True)
    return challenge, task, team, organizer


def test_one_phase_announces_nothing(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert phase_transitions_announce() == []
        assert phase_transitions_announce(at=timezone.now() + timedelta(days=3)) == []
    assert not WebhookDelivery.objects.exists()


def test_a_start_and_an_end_go_out_once_each(world, django_capture_on_commit_callbacks):
    challenge, task, team, organizer = world
    now = timezone.now()
    dev = challenge.phases.get()
    with django_capture_on_commit_callbacks(execute=True):
        phase_update(
            phase=dev,
            actor=organizer,
            values={"slug": "dev", "title": "Development", "end": now + timedelta(hours=1)},
            reason="two phases",
        )
        final = phase_create(
            challenge=challenge,
            actor=organizer,
            values={
                "slug": "final",
                "title": "Final",
                "start": now + timedelta(hours=1),
                "end": now + timedelta(days=3),
                "feedback": "blind",
                "final": True,
            },
            reason="two phases",
        )
        first = phase_transitions_announce(at=now)
        later = now + timedelta(hours=2)
        second = phase_transitions_announce(at=later)
        again = phase_transitions_announce(at=later)
    assert first == [(dev.pk, "start")]
    assert sorted(second) == sorted([(dev.pk, "end"), (final.pk, "start")])
    assert again == [], "a tick again announces nothing twice"
    bodies = [json.loads(b) for b in WebhookDelivery.objects.values_list("body", flat=True)]
    told = sorted((b["data"]["phase"], b["data"]["what"]) for b in bodies if b["event"] == "phase")
    assert told == [("dev", "ended"), ("dev", "started"), ("final", "started")]
    subjects = list(MailDelivery.objects.values_list("subject", flat=True))
    assert any("“Final” is open" in s for s in subjects), subjects
    assert Phase.objects.get(pk=final.pk).start_announced_at == later


def test_the_board_ranks_the_current_phase_only(world, django_capture_on_commit_callbacks):
    """Scores of two phases never mix: the board ranks the open phase's entries; a blind
    phase's board is empty until the reveal."""
    challenge, task, team, organizer = world
    now = timezone.now()
    dev = challenge.phases.get()
    old = scored(task, team, 0.61, 0.6)
    type(old).objects.filter(pk=old.pk).update(phase=dev)
    phase_update(
        phase=dev,
        actor=organizer,
        values={"end": now - timedelta(hours=1)},
        reason="the dev phase ended",
    )
    live_final = phase_create(
        challenge=challenge,
        actor=organizer,
        values={
            "slug": "final",
            "title": "Final",
            "start": now - timedelta(minutes=30),
            "end": now + timedelta(days=3),
            "final": True,
        },
        reason="a live final phase",
    )
    assert not LeaderboardEntry.objects.filter(task=task).exists(), "dev's entry is not final's"
    new = scored(task, team, 0.72, 0.7)
    type(new).objects.filter(pk=new.pk).update(phase=live_final)
    phase_update(phase=live_final, actor=organizer, values={"title": "Final"}, reason="refresh")
    assert set(
        LeaderboardEntry.objects.filter(task=task).values_list("submission_id", flat=True)
    ) == {new.pk}
    phase_update(
        phase=live_final, actor=organizer, values={"feedback": "blind"}, reason="blind after all"
    )
    assert not LeaderboardEntry.objects.filter(task=task).exists()
