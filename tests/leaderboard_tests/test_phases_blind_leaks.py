"""Blind means blind (docs/decisions/0066-phases.md): every route of the URL configuration,
read as an anonymous visitor, as the team and as another team, holds no score of an entry of
a blind phase before the reveal: the same search of every answer as the Ladder's
(tests/leaderboard_tests/test_ladder_leaks.py, whose route enumeration this reuses), over
every page, API answer and export, the mail and the webhooks. Organizers read the figures,
and the reveal opens them to everyone at once."""

from __future__ import annotations

import pytest
from django.test import Client

from challenges.services import challenge_reveal
from notifications.models import MailDelivery, WebhookDelivery
from scoring.models import Submission
from tests.leaderboard_tests import test_ladder_leaks as ladder_leaks
from tests.scoring_tests.factories import api_client_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(blind_world):
    """The blind-phase world (tests/leaderboard_tests/blind_phase_world.py)."""
    return blind_world


def test_no_route_shows_a_score_of_a_blind_phases_entry(world):
    requested = 0
    for who, path, text in ladder_leaks._every_route(world):
        found = ladder_leaks._leaks(text, world["hidden"])
        assert not found, f"{who} reads {found} at {path}"
        requested += 1
    assert requested > 300


def test_mails_and_webhooks_say_scored_and_nothing_else(world):
    mails = [f"{m.subject}\n{m.body}" for m in MailDelivery.objects.all()]
    bodies = list(WebhookDelivery.objects.values_list("body", flat=True))
    assert any("scored" in m for m in mails), mails
    for text in [*mails, *bodies]:
        assert not ladder_leaks._leaks(text, world["hidden"]), text


def test_organizers_see_everything_and_the_reveal_opens_it_all_at_once(world):
    entry = world["submissions"][1]
    staff = Client()
    staff.force_login(world["organizer"])
    assert ladder_leaks._leaks(
        staff.get(f"/submissions/{entry}/").content.decode(), world["hidden"]
    )
    challenge_reveal(challenge=world["challenge_row"], actor=world["organizer"], reason="done")
    ours = api_client_for(world["ours"].user)
    for path in (f"/api/v1/submissions/{entry}/", f"/api/v1/tasks/{world['task']}/leaderboard/"):
        text = ours.get(path).content.decode()
        assert ladder_leaks._leaks(text, world["hidden"]), path
    assert Submission.objects.get(pk=entry).phase.slug == "final"
