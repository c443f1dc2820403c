"""Organizers add and edit phases in the console, with a reason, audited; a phase that
would overlap another is refused with the form's error and changes nothing
(docs/organizers/run-phases.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from challenges.models import AuditEvent, Phase
from tests.challenges_tests.factories import ChallengeFactory, UserFactory

pytestmark = pytest.mark.django_db

FMT = "%Y-%m-%d %H:%M:%S"


def form(challenge, **values) -> dict:
    data = {
        "challenge": challenge.pk,
        "slug": "final",
        "title": "Final",
        "feedback": "blind",
        "final": "on",
        "reason": "a blind final phase",
    }
    for name in ("start", "end"):
        when = values.pop(name)
        data[f"{name}_0"], data[f"{name}_1"] = when.strftime(FMT).split(" ")
    return {**data, **values}


def test_a_phase_added_and_edited_in_the_console_is_audited(client) -> None:
    now = timezone.now().replace(microsecond=0)
    challenge = ChallengeFactory(slug="cons", start=now - timedelta(days=3), end=now)
    client.force_login(UserFactory(username="org", is_staff=True, is_superuser=True))
    overlapping = form(challenge, start=now - timedelta(days=1), end=now + timedelta(days=4))
    refused = client.post("/admin/challenges/phase/add/", overlapping)
    assert refused.status_code == 200 and "overlap" in refused.content.decode()
    assert Phase.objects.filter(challenge=challenge).count() == 1
    assert not AuditEvent.objects.filter(action__startswith="phase.").exists()

    added = client.post(
        "/admin/challenges/phase/add/",
        form(challenge, start=now + timedelta(days=1), end=now + timedelta(days=8)),
    )
    errors = [line for line in added.content.decode().splitlines() if "errorlist" in line]
    assert added.status_code == 302, errors
    final = Phase.objects.get(challenge=challenge, slug="final")
    assert final.final and not Phase.objects.get(challenge=challenge, slug="main").final
    challenge.refresh_from_db()
    assert challenge.end == final.end, "the challenge ends with its last phase"
    (event,) = AuditEvent.objects.filter(action="phase.create")
    assert event.reason == "a blind final phase"

    edit = form(
        challenge, start=now + timedelta(days=2), end=now + timedelta(days=8), reason="a day later"
    )
    edit.pop("challenge")
    changed = client.post(f"/admin/challenges/phase/{final.pk}/change/", edit)
    assert changed.status_code == 302, changed.content.decode()[:2000]
    (update,) = AuditEvent.objects.filter(action="phase.update")
    assert update.reason == "a day later" and "start" in update.after
