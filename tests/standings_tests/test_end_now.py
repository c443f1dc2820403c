"""Ending a running challenge at once (issue 25): ``finish_challenge <slug> --end-now
--reason TEXT`` and the console's action set the end to now, record why, then freeze;
without ``--end-now`` the command keeps its one-line refusal and names the option."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from challenges.models import AuditEvent, Challenge
from leaderboard.refresh import task_leaderboard_refresh
from standings.models import FinalStandings
from standings.services import StandingsError, challenge_end_now
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory, UserFactory
from tests.leaderboard_tests.factories import make_task, make_team, scored
from tests.support.celery_worker import run_manage


def running_challenge(slug: str = "live") -> Challenge:
    now = timezone.now()
    challenge = ChallengeFactory(
        slug=slug, start=now - timedelta(days=3), end=now + timedelta(days=10)
    )
    task = make_task(TrackFactory(challenge=challenge, slug=f"{slug}-trk"), slug=f"{slug}-t")
    scored(task, make_team(challenge, "Owls"), 0.8, 0.7, minutes=24 * 60)  # 1 h ago... now
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    return challenge


@pytest.mark.django_db
def test_the_service_ends_now_records_why_and_freezes() -> None:
    challenge = running_challenge()
    organizer = UserFactory(username="org", is_staff=True)
    before = challenge.end
    with pytest.raises(StandingsError, match="needs a reason"):
        challenge_end_now(challenge=challenge, actor=organizer, reason="  ")
    challenge.refresh_from_db()
    assert challenge.end == before and not FinalStandings.objects.exists()

    at = timezone.now()
    frozen, created = challenge_end_now(
        challenge=challenge, actor=organizer, reason="data leak found", now=at
    )
    challenge.refresh_from_db()
    assert created and challenge.end == at and frozen.frozen_at == at
    event = AuditEvent.objects.get(action="challenge.end_now")
    assert event.reason == "data leak found" and event.actor == organizer
    assert event.before["end"] == before.isoformat() and event.after["end"] == at.isoformat()
    assert AuditEvent.objects.filter(action="standings.freeze").count() == 1
    # Again: already ended, so only the (idempotent) freeze answers; nothing else changes.
    again, created = challenge_end_now(challenge=challenge, actor=organizer, reason="again")
    assert not created and again.pk == frozen.pk
    assert AuditEvent.objects.filter(action="challenge.end_now").count() == 1


@pytest.mark.django_db
def test_a_challenge_that_has_not_started_is_not_ended() -> None:
    now = timezone.now()
    later = ChallengeFactory(slug="later", start=now + timedelta(days=1), end=now + timedelta(9))
    with pytest.raises(StandingsError, match="has not started yet"):
        challenge_end_now(challenge=later, actor=None, reason="oops")
    later.refresh_from_db()
    assert later.end > now and not FinalStandings.objects.exists()


@pytest.mark.django_db
def test_the_command_ends_now_only_when_asked_with_a_reason(capsys) -> None:
    challenge = running_challenge()
    with pytest.raises(CommandError, match=r"can only be frozen after.*--end-now --reason"):
        call_command("finish_challenge", "live")
    with pytest.raises(CommandError, match="--end-now needs --reason"):
        call_command("finish_challenge", "live", "--end-now")
    assert not FinalStandings.objects.exists()
    call_command("finish_challenge", "live", "--end-now", "--reason", "sponsor asked")
    out = capsys.readouterr().out
    challenge.refresh_from_db()
    assert challenge.end <= timezone.now() and "ended now" in out and "frozen at" in out
    assert FinalStandings.objects.get().sha256 in out
    assert AuditEvent.objects.get(action="challenge.end_now").reason == "sponsor asked"


@pytest.mark.django_db(transaction=True)
def test_the_refusal_is_one_line_without_a_traceback() -> None:
    running_challenge("proc")
    result = run_manage("finish_challenge", "proc")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "--end-now" in lines[0]
    assert not FinalStandings.objects.exists()


@pytest.mark.django_db
def test_the_console_action_asks_for_a_reason_then_ends_and_freezes(client) -> None:
    challenge = running_challenge()
    organizer = UserFactory(username="org", is_staff=True, is_superuser=True)
    client.force_login(organizer)
    url = "/admin/challenges/challenge/"
    form = {"action": "end_challenge_now", "_selected_action": [challenge.pk]}
    page = client.post(url, form)
    assert page.status_code == 200 and b'id="action-reason-form"' in page.content
    blank = client.post(url, {**form, "apply": "1", "reason": " "})
    assert b"This field is required" in blank.content
    challenge.refresh_from_db()
    assert challenge.is_open() and not FinalStandings.objects.exists()

    done = client.post(url, {**form, "apply": "1", "reason": "cheating epidemic"}, follow=True)
    assert b"ended now and its final standings frozen" in done.content
    challenge.refresh_from_db()
    assert not challenge.is_open() and FinalStandings.objects.filter(challenge=challenge).exists()
    event = AuditEvent.objects.get(action="challenge.end_now")
    assert event.actor == organizer and event.reason == "cheating epidemic"
