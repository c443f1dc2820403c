"""Phases switching during the benches' load (bench/phase_switch.py, used by
bench/multihost.py and bench/chaos.py with ``--phases``): an organizer's API edits turn the
load's challenge into dev then final, and move the switch ahead without a gap or an
overlap; an upload lands in the phase open at its arrival; the verdict fails on a
submission in the wrong phase, a lost one, or a switch that never came."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from bench.phase_switch import PhaseSwitch, phase_verdict
from challenges.models import Phase
from challenges.phases import phase_open
from challenges.tokens import api_token_create
from tests.challenges_tests.factories import ChallengeFactory, UserFactory


def test_the_verdict_names_every_submission_out_of_place():
    switch = 1000.0
    rows = [(1, 990.0, "dev"), (2, 1001.0, "final"), (3, 1010.0, "dev"), (4, 995.0, None),
            (6, 1000.5, "dev")]  # fmt: skip
    ok, summary, wrong = phase_verdict(rows, accepted=[1, 2], switched_at=switch)
    assert ok and summary.startswith("1 in dev") and not wrong
    # Checked, then inserted a moment later: at the switch either phase is the open one.
    assert phase_verdict(rows, accepted=[1, 2, 6], switched_at=switch)[0]
    ok, _, wrong = phase_verdict(rows, accepted=[1, 2, 3, 4, 5], switched_at=switch)
    assert not ok
    assert any("submission 3" in w and "'final'" in w for w in wrong)
    assert any("submission 4" in w for w in wrong)
    assert any("submission 5" in w and "not in the database" in w for w in wrong)
    assert not phase_verdict(rows, accepted=[1], switched_at=switch)[0], "final never reached"
    assert not phase_verdict(rows, accepted=[1, 2], switched_at=None)[0]


@pytest.mark.django_db(transaction=True)
def test_the_organizers_edits_switch_the_phases_without_a_gap(live_server):
    now = timezone.now()
    challenge = ChallengeFactory(
        slug="load", start=now - timedelta(hours=1), end=now + timedelta(days=2)
    )
    organizer = UserFactory(username="bench-organizer", is_staff=True)
    token = api_token_create(user=organizer)[1]
    phases = PhaseSwitch(live_server.url, token, "load")
    phases.prepare()
    dev, final = Phase.objects.get(pk=phases.dev_id), Phase.objects.get(pk=phases.final_id)
    assert (dev.slug, final.slug, final.final) == ("dev", "final", True)
    assert dev.end == final.start > timezone.now() + timedelta(hours=12)
    assert phase_open(challenge=challenge).slug == "dev"
    at = phases.switch(ahead=1.0)
    dev.refresh_from_db()
    final.refresh_from_db()
    assert dev.end == final.start and abs(final.start.timestamp() - at) < 1e-3
    challenge.refresh_from_db()
    after = datetime.fromtimestamp(at + 0.1, tz=UTC)
    assert phase_open(challenge=challenge, at=after).slug == "final"
    before = datetime.fromtimestamp(at - 0.1, tz=UTC)
    assert phase_open(challenge=challenge, at=before).slug == "dev"
