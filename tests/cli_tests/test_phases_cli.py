"""``chal phases <challenge>`` and ``chal submit`` naming the phase an entry went to; between
two phases the upload is refused with the server's words (docs/participants/phases.md)."""

from __future__ import annotations

import json
from datetime import timedelta

from django.utils import timezone

from challenges.phases import phase_create, phase_update
from scoring.models import Submission
from tests.challenges_tests.factories import UserFactory


def two_phases(world, *, dev_open: bool) -> None:
    organizer = UserFactory(username="org", is_staff=True)
    now = timezone.now()
    phase_update(
        phase=world.challenge.phases.get(),
        actor=organizer,
        values={
            "slug": "dev",
            "title": "Development",
            "start": now - timedelta(days=5),
            "end": now + timedelta(days=1) if dev_open else now - timedelta(hours=1),
            "final": False,
        },
        reason="development",
    )
    phase_create(
        challenge=world.challenge,
        actor=organizer,
        values={
            "slug": "final",
            "title": "Final",
            "start": now + timedelta(days=2),
            "end": now + timedelta(days=9),
            "feedback": "blind",
            "final": True,
        },
        reason="final",
    )


def test_chal_phases_and_submit_name_the_phase(chal, world, login_as, broker, tmp_path):
    two_phases(world, dev_open=True)
    login_as("alice")
    listed = chal("phases", world.challenge.slug)
    assert listed.code == 0, listed.err
    first, second = listed.out.splitlines()[:2]
    assert first.startswith("* dev") and "live" in first and "(current)" in first
    assert second.startswith("  final") and "blind  final" in second
    as_json = json.loads(chal("phases", world.challenge.slug, "--json").out)
    assert [(p["slug"], p["current"]) for p in as_json] == [("dev", True), ("final", False)]

    path = tmp_path / "p.csv"
    path.write_text("id,label\nt0000,bird\n")
    sent = chal("submit", world.birds.slug, path)
    assert sent.code == 0, sent.err
    submission = Submission.objects.get()
    assert sent.out == f"Submission {submission.pk} to cli-birds in phase dev: queued\n"


def test_between_phases_chal_submit_is_refused(chal, world, login_as, broker, tmp_path):
    two_phases(world, dev_open=False)
    login_as("alice")
    path = tmp_path / "p.csv"
    path.write_text("id,label\nt0000,bird\n")
    refused = chal("submit", world.birds.slug, path)
    assert refused.code == 1 and "No phase of the challenge is open now" in refused.err
    assert not Submission.objects.exists()
    unknown = chal("phases", "no-such-cup")
    assert unknown.code == 1 and "Traceback" not in unknown.err
