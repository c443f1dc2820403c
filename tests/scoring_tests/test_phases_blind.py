"""A development phase, then a blind final phase (docs/decisions/0066-phases.md): the phases'
API, the organizers' audited writes, and blind means blind: no answer a participant can
read holds any score of a blind-phase entry (the way the Ladder's leak test searches every
answer: tests/leaderboard_tests/test_ladder_leaks.py), while organizers see everything, and
the reveal opens it all at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from challenges.models import AuditEvent
from challenges.services import challenge_reveal
from scoring.models import Submission, SubmissionStatus
from tests.challenges_tests.factories import UserFactory
from tests.leaderboard_tests.ladder_world import number_forms
from tests.scoring_tests.factories import api_client_for, make_participant

pytestmark = pytest.mark.django_db

# Full-precision figures: any of their printed forms in an answer is a leak.
BLIND_PUBLIC, BLIND_PRIVATE = 0.7318364729, 0.6947152038


@pytest.fixture
def task(module_tasks):
    return module_tasks["classification"]


@pytest.fixture
def organizer():
    return UserFactory(username="org", is_staff=True)


@pytest.fixture
def world(task, organizer):
    """``dev`` ended yesterday, the blind ``final`` phase is open now; alice's final-phase
    entry is scored."""
    challenge = task.track.challenge
    api = api_client_for(organizer)
    now = timezone.now()
    main = challenge.phases.get()
    answer = api.patch(
        f"/api/v1/phases/{main.pk}/",
        {
            "slug": "dev",
            "title": "Development",
            "start": (now - timedelta(days=10)).isoformat(),
            "end": (now - timedelta(days=1)).isoformat(),
            "final": False,
            "reason": "a development phase first",
        },
        format="json",
    )
    assert answer.status_code == 200, answer.content
    answer = api.post(
        f"/api/v1/challenges/{challenge.slug}/phases/",
        {
            "slug": "final",
            "title": "Final",
            "start": (now - timedelta(hours=1)).isoformat(),
            "end": (now + timedelta(days=5)).isoformat(),
            "feedback": "blind",
            "final": True,
            "reason": "fresh test data, no feedback",
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content
    final_id = answer.json()["id"]
    alice = make_participant(challenge, username="alice")
    metric = task.primary_metric
    entry = Submission.objects.create(
        task=task,
        team=alice.team,
        uploaded_by=alice.user,
        file="x",
        phase_id=final_id,
        status=SubmissionStatus.SCORED,
        public_score=BLIND_PUBLIC,
        private_score=BLIND_PRIVATE,
        scores={"public": {metric: BLIND_PUBLIC}, "private": {metric: BLIND_PRIVATE}},
    )
    return challenge, alice, entry


def leaked(text: str) -> list[str]:
    return [form for value in (BLIND_PUBLIC, BLIND_PRIVATE) for form in number_forms(value)
            if form in text]  # fmt: skip


def test_the_phases_list_puts_the_current_first_and_every_write_is_audited(world, organizer):
    challenge, alice, _entry = world
    phases = Client().get(f"/api/v1/challenges/{challenge.slug}/phases/").json()
    assert [(p["slug"], p["current"], p["feedback"], p["final"]) for p in phases] == [
        ("final", True, "blind", True),
        ("dev", False, "live", False),
    ]
    assert set(phases[0]) == {
        "id", "slug", "title", "start", "end", "feedback", "daily_submission_limit",
        "max_submissions", "final", "current",
    }  # fmt: skip
    actions = list(
        AuditEvent.objects.filter(object_type="challenges.Phase").values_list(
            "action", "reason"
        )
    )
    assert sorted(actions) == [
        ("phase.create", "fresh test data, no feedback"),
        ("phase.update", "a development phase first"),
    ]
    # A participant may not write; a write without a reason changes nothing.
    refused = alice.api().post(
        f"/api/v1/challenges/{challenge.slug}/phases/", {"slug": "x"}, format="json"
    )
    assert refused.status_code == 403
    no_reason = api_client_for(organizer).patch(
        f"/api/v1/phases/{phases[0]['id']}/", {"title": "Renamed"}, format="json"
    )
    assert no_reason.status_code == 400
    assert Client().get(f"/api/v1/challenges/{challenge.slug}/phases/").json()[0]["title"] == (
        "Final"
    )


def test_a_blind_entry_shows_a_participant_it_was_scored_and_nothing_else(world, organizer):
    challenge, alice, entry = world
    reader = alice.api()
    detail = reader.get(f"/api/v1/submissions/{entry.pk}/").json()
    assert detail["status"] == "scored" and detail["phase"] == "final"
    assert detail["scores"] == {} and detail["shown_score"] is None
    assert detail["withheld"].startswith("scored; every figure withheld")
    answers = {
        "detail": detail,
        "list": reader.get("/api/v1/submissions/").content.decode(),
        "page": None,
    }
    web = Client()
    web.force_login(alice.user)
    for name, path in {
        "page": f"/submissions/{entry.pk}/",
        "list page": "/submissions/",
        "team page": f"/teams/{alice.team.pk}/",
        "board API": f"/api/v1/tasks/{entry.task.slug}/leaderboard/",
        "board": f"/tasks/{entry.task.slug}/leaderboard/",
        "board CSV": f"/tasks/{entry.task.slug}/leaderboard.csv",
        "track board": f"/tracks/{entry.task.track.slug}/",
    }.items():
        response = web.get(path)
        assert response.status_code == 200, (path, response.status_code)
        answers[name] = response.content.decode()
    staff_web = Client()
    staff_web.force_login(organizer)
    assert leaked(staff_web.get(f"/submissions/{entry.pk}/").content.decode()), (
        "the organizer's page shows the figures (the search finds them where they are)"
    )
    for name, text in answers.items():
        assert not leaked(str(text)), f"{name} shows a blind entry's score"
    assert "blind phase" in answers["page"]
    team_page = answers["team page"]
    assert 'id="phases"' in team_page and 'class="current-phase"' in team_page
    assert '<h3 class="phase-entries" data-phase="final">' in team_page
    assert "blind-score" in team_page, "the entry reads as scored, blind"

    # Organizers see everything.
    staff = api_client_for(organizer).get(f"/api/v1/submissions/{entry.pk}/").json()
    assert staff["scores"]["public"][entry.task.primary_metric] == BLIND_PUBLIC
    # The reveal opens it all at once.
    challenge_reveal(challenge=challenge, actor=organizer, reason="results")
    opened = reader.get(f"/api/v1/submissions/{entry.pk}/").json()
    assert opened["scores"]["private"][entry.task.primary_metric] == BLIND_PRIVATE
    assert opened["withheld"] is None
