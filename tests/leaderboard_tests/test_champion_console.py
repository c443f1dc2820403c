"""The console's champion pin: an organizer replaces a task's champion by hand with a reason;
the pin is audited, on the timeline with its reason, a ``champion`` webhook event, and it
refuses what cannot be a champion with the reason (nothing changes)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from challenges.models import AuditEvent
from leaderboard.champion.services import champion_ensure
from leaderboard.models import ChampionChange, TaskChampion
from notifications.models import Webhook, WebhookDelivery
from scoring.services.finals import submission_visibility_set
from scoring.services.upload import submission_create
from tests.scoring_tests.factories import (
    ChallengeFactory,
    UserFactory,
    api_client_for,
    csv_bytes,
    imported_task,
    make_participant,
    predictions_frame,
    upload,
)
from tests.scoring_tests.references_helpers import scored

pytestmark = pytest.mark.django_db


@pytest.fixture
def pinned(tmp_path):
    task = imported_task(tmp_path, challenge=ChallengeFactory(slug="pin-cup"))
    ann = make_participant(task.track.challenge, username="ann", name="Ann")
    submission = scored(
        submission_create(task=task, user=ann.user, file=upload(csv_bytes(predictions_frame(task))))
    )
    Webhook.objects.create(
        challenge=task.track.challenge, url="http://127.0.0.1:9/hook", secret="s"
    )
    organizer = UserFactory(username="org", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(organizer)
    champion_ensure(task=task)
    holder = TaskChampion.objects.get(task=task)
    return task, submission, organizer, client, f"/admin/leaderboard/taskchampion/{holder.pk}/pin/"


def test_an_organizer_pins_a_champion_with_a_reason_and_it_is_audited_and_announced(pinned):
    task, submission, organizer, client, url = pinned
    start = TaskChampion.objects.get(task=task).current
    assert start.by == "initial" and start.label == "Trivial baseline"
    page = client.get(url)
    assert page.status_code == 200 and b"Trivial baseline" in page.content

    no_reason = client.post(
        url, {"entry_type": "submission", "entry": str(submission.pk), "reason": ""}
    )
    assert no_reason.status_code == 200 and b"This field is required" in no_reason.content
    assert ChampionChange.objects.filter(task=task).count() == 1

    done = client.post(
        url,
        {
            "entry_type": "submission",
            "entry": f"#{submission.pk}",
            "reason": "audited by the data owners",
        },
    )
    assert done.status_code == 302
    change = TaskChampion.objects.get(task=task).current
    assert (change.by, change.submission_id, change.actor, change.reason) == (
        "pin",
        submission.pk,
        organizer,
        "audited by the data owners",
    )
    event = AuditEvent.objects.get(action="champion.pin")
    assert event.reason == "audited by the data owners" and event.actor == organizer
    assert event.before == {"champion": "Trivial baseline"}
    item = api_client_for(None).get(f"/api/v1/tasks/{task.slug}/champion/").json()["history"][-1]
    assert item["by"] == "pin" and item["reason"] == "audited by the data owners"
    assert item["difference"] is None and item["team"] == "Ann"
    delivery = WebhookDelivery.objects.get(event="champion")
    body = json.loads(delivery.body)
    assert body["data"]["by"] == "pin" and body["data"]["entry"]["id"] == submission.pk
    assert "pinned by the organizers: audited by the data owners" in body["text"]
    timeline = client.get(
        f"/admin/leaderboard/taskchampion/{TaskChampion.objects.get(task=task).pk}/change/"
    )
    assert b"audited by the data owners" in timeline.content


def test_a_pin_of_what_cannot_be_champion_is_refused_and_changes_nothing(pinned):
    task, submission, organizer, client, url = pinned
    again = client.post(
        url, {"entry_type": "reference", "entry": "trivial baseline", "reason": "r"}
    )
    assert b"is already the champion" in again.content
    missing = client.post(url, {"entry_type": "submission", "entry": "999999", "reason": "r"})
    assert b"has no such submission: 999999" in missing.content
    submission_visibility_set(submission=submission, hidden=True, actor=organizer, reason="cheat")
    hidden = client.post(
        url, {"entry_type": "submission", "entry": str(submission.pk), "reason": "r"}
    )
    assert b"hidden by the organizers" in hidden.content
    assert list(ChampionChange.objects.filter(task=task).values_list("by", flat=True)) == [
        "initial"
    ]
    assert not AuditEvent.objects.filter(action="champion.pin").exists()
    participant = Client()
    participant.force_login(make_participant(task.track.challenge, username="bo").user)
    assert participant.get(url).status_code == 302  # to the admin's login


def test_epsilon_is_the_task_s_else_the_challenge_s_and_stays_a_rate(pinned):
    from django.db import IntegrityError, transaction

    from leaderboard.champion.weigh import gate_settings

    task = pinned[0]
    challenge = task.track.challenge
    assert gate_settings(task=task).epsilon == 0.02  # the default
    challenge.gate_nfr_epsilon = 0.05
    challenge.save()
    assert gate_settings(task=task).epsilon == 0.05
    task.gate_nfr_epsilon = 0.01
    task.save()
    assert gate_settings(task=task).epsilon == 0.01
    assert gate_settings(task=task).alpha == pytest.approx(1 - challenge.confidence_level)
    for bad in (-0.1, 1.5):
        task.gate_nfr_epsilon = bad
        with pytest.raises(IntegrityError), transaction.atomic():
            task.save()
