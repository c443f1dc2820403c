"""``?phase=<slug>`` on the task and track boards, their CSV and API
(docs/decisions/0066-phases.md): any phase's board, ranked from that phase's submissions
only; the default is the current phase; an unknown slug answers 404 ``unknown_phase``; a
blind phase's board holds no entry for a participant or an anonymous reader before the
reveal, and every entry for its organizers; the reveal opens it to everyone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from challenges.phases import phase_create, phase_current, phase_open, phase_update
from challenges.services import challenge_reveal
from leaderboard.boards.shown import rank_sets_hidden
from leaderboard.refresh import task_leaderboard_refresh
from scoring.models import Submission
from standings.services import challenge_end_now
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory, UserFactory
from tests.leaderboard_tests.factories import make_task, make_team, scored
from tests.scoring_tests.factories import api_client_for
from tests.support.phases import dev_then_final

pytestmark = pytest.mark.django_db


def _in(phase, submission: Submission) -> None:
    Submission.objects.filter(pk=submission.pk).update(phase=phase)


@pytest.fixture
def world(redis_server):
    now = timezone.now()
    challenge = ChallengeFactory(
        slug="phased", title="Phased", start=now - timedelta(days=5), end=now + timedelta(days=2)
    )
    task = make_task(TrackFactory(challenge=challenge, slug="trk"), slug="phased-task")
    ann, bob = make_team(challenge, "ann-team"), make_team(challenge, "bob-team")
    organizer = UserFactory(username="org", is_staff=True)
    dev, final = dev_then_final(
        challenge=challenge,
        organizer=organizer,
        dev_end=now - timedelta(hours=1),
        final_start=now - timedelta(minutes=30),
        final_end=now + timedelta(days=3),
    )
    for team, score, phase in ((ann, 0.611, dev), (bob, 0.622, dev), (ann, 0.733, final)):
        _in(phase, scored(task, team, score, score - 0.01))
    # Refresh the maintained board now that the entries carry their phases.
    task_leaderboard_refresh(task_id=task.pk)
    return challenge, task, organizer


def _scores(body) -> dict[str, float]:
    return {e["team"]: e["score"] for e in body["entries"] if not e["is_baseline"]}


def test_a_past_phase_board_ranks_its_own_entries_only(world):
    _, task, _ = world
    answer = api_client_for(None).get(f"/api/v1/tasks/{task.slug}/leaderboard/?phase=dev")
    assert answer.status_code == 200, answer.content
    assert _scores(answer.json()) == {"bob-team": 0.622, "ann-team": 0.611}
    assert [e["team"] for e in answer.json()["entries"]] == ["bob-team", "ann-team"]
    track = api_client_for(None).get("/api/v1/tracks/trk/leaderboard/?phase=dev").json()
    assert {e["team"] for e in track["entries"]} == {"ann-team", "bob-team"}
    assert track["rank_set_reason"]
    page = Client().get(f"/tasks/{task.slug}/leaderboard/?phase=dev")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="phase-selector"' in html and "0.622" in html and "0.733" not in html
    assert 'id="phase-board-note"' in html
    assert '<th class="num">95% interval</th>' not in html, "no bootstrap on a read-time board"
    csv = Client().get(f"/tasks/{task.slug}/leaderboard.csv?phase=dev")
    assert "dev" in csv["Content-Disposition"]
    assert "bob-team" in csv.content.decode() and "0.733" not in csv.content.decode()
    track_csv = Client().get("/tracks/trk/leaderboard.csv?phase=dev").content.decode()
    assert "bob-team" in track_csv and "0.733" not in track_csv


def test_an_unknown_phase_is_refused_with_a_code(world):
    _, task, _ = world
    for path in (f"/api/v1/tasks/{task.slug}/leaderboard/", "/api/v1/tracks/trk/leaderboard/"):
        answer = api_client_for(None).get(path + "?phase=nope")
        assert answer.status_code == 404
        assert answer.json()["code"] == "unknown_phase"
    assert Client().get(f"/tasks/{task.slug}/leaderboard/?phase=nope").status_code == 404
    assert Client().get("/tracks/trk/leaderboard.csv?phase=nope").status_code == 404


def test_the_blind_phase_is_its_organizers_until_the_reveal(world):
    challenge, task, organizer = world
    path = f"/api/v1/tasks/{task.slug}/leaderboard/"
    for asked in ("", "?phase=final"):
        assert _scores(api_client_for(None).get(path + asked).json()) == {}
        assert _scores(api_client_for(organizer).get(path + asked).json()) == {"ann-team": 0.733}
    page = Client().get(f"/tasks/{task.slug}/leaderboard/").content.decode()
    assert "0.733" not in page and 'id="blind-phase-note"' in page
    staff = Client()
    staff.force_login(organizer)
    assert "0.733" in staff.get(f"/tasks/{task.slug}/leaderboard/").content.decode()
    track = api_client_for(organizer).get("/api/v1/tracks/trk/leaderboard/").json()
    assert {e["team"] for e in track["entries"]} == {"ann-team"}
    assert api_client_for(None).get("/api/v1/tracks/trk/leaderboard/").json()["entries"] == []
    participant = UserFactory(username="someone")
    assert rank_sets_hidden(task=task, split="public", user=participant)
    assert not rank_sets_hidden(task=task, split="public", user=organizer)
    challenge_reveal(challenge=challenge, actor=organizer)
    assert _scores(api_client_for(None).get(path).json()) == {"ann-team": 0.733}
    private = api_client_for(None).get(path + "?phase=dev&split=private").json()
    assert _scores(private) == {"bob-team": 0.612, "ann-team": 0.601}, "its own private scores"
    # The other split's link keeps the phase read.
    dev_page = Client().get(f"/tasks/{task.slug}/leaderboard/?phase=dev").content.decode()
    assert 'href="?split=private&amp;phase=dev"' in dev_page
    challenge.refresh_from_db()
    task.track.challenge.refresh_from_db()
    assert not rank_sets_hidden(task=task, split="public", user=participant)


def test_one_phase_answers_as_before(redis_server):
    challenge = ChallengeFactory(slug="single")
    task = make_task(TrackFactory(challenge=challenge, slug="one"), slug="single-task")
    scored(task, make_team(challenge, "solo"), 0.5, 0.5)
    path = f"/api/v1/tasks/{task.slug}/leaderboard/"
    assert api_client_for(None).get(path + "?phase=main").json() == (
        api_client_for(None).get(path).json()
    )
    assert api_client_for(None).get(path + "?phase=dev").status_code == 404
    page = Client().get(f"/tasks/{task.slug}/leaderboard/").content.decode()
    assert 'id="phase-selector"' not in page


def test_a_phase_that_never_opened_never_becomes_the_boards_phase(redis_server):
    """Ending early while the development phase is open: the final phase, later, never
    opens, so once its date passes the boards still read the development phase."""
    now = timezone.now()
    challenge = ChallengeFactory(
        slug="early", start=now - timedelta(days=5), end=now + timedelta(days=9)
    )
    organizer = UserFactory(username="org2", is_staff=True)
    dev = challenge.phases.get()
    phase_update(
        phase=dev,
        actor=organizer,
        values={"slug": "dev", "end": now + timedelta(days=1)},
        reason="two phases",
    )
    phase_create(
        challenge=challenge,
        actor=organizer,
        values={"slug": "final", "title": "Final", "start": now + timedelta(days=1),
                "end": now + timedelta(days=9), "final": True},
        reason="two phases",
    )  # fmt: skip
    challenge_end_now(challenge=challenge, actor=organizer, reason="stopped")
    challenge.refresh_from_db()
    later = now + timedelta(days=2)
    assert phase_current(challenge=challenge, at=later).slug == "dev"
    assert phase_open(challenge=challenge, at=later) is None
