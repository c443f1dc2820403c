"""Asking whether a run would be queued, before uploading an algorithm (issue 25): the runs'
own checks, answered without an algorithm and changing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from algorithms.models import Algorithm
from tests.challenges_tests.factories import (
    ChallengeFactory,
    TeamFactory,
    TrackFactory,
    UserFactory,
    add_member,
)
from tests.leaderboard_tests.factories import make_task

pytestmark = pytest.mark.django_db
URL = "/api/v1/challenges/adm/algorithm-runs/admission/"


@pytest.fixture
def member():
    challenge = ChallengeFactory(slug="adm")
    track = TrackFactory(challenge=challenge, slug="adm-track")
    make_task(track, slug="adm-a")
    make_task(track, slug="adm-b")
    user = UserFactory(username="ada")
    add_member(TeamFactory(challenge=challenge, name="Adas"), user)
    api = APIClient()
    api.force_authenticate(user)
    return challenge, api


def test_an_open_challenge_admits_the_tracks_tasks(member):
    _, api = member
    answer = api.get(URL, {"track": "adm-track"})
    assert answer.status_code == 200
    assert answer.json() == {"allowed": True, "tasks": ["adm-a", "adm-b"]}
    assert api.get(URL, {"tasks": "adm-b"}).json()["tasks"] == ["adm-b"]
    assert not Algorithm.objects.exists()


def test_the_refusals_are_the_runs_own(member):
    challenge, api = member
    unknown = api.get(URL, {"track": "nope"})
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_track"
    start = challenge.start
    challenge.start = timezone.now() + timedelta(hours=1)
    challenge.end = timezone.now() + timedelta(days=1)
    challenge.save()
    early = api.get(URL, {"track": "adm-track"})
    assert early.status_code == 403 and early.json()["code"] == "not_open"
    # After the end: the post-challenge benchmark admits runs (to the post-challenge boards).
    challenge.start = start
    challenge.end = timezone.now() - timedelta(minutes=1)
    challenge.save()
    after = api.get(URL, {"track": "adm-track"})
    assert after.status_code == 200 and after.json()["allowed"] is True
    challenge.end = timezone.now() + timedelta(days=1)
    challenge.rules = "Be fair."
    challenge.save()
    rules = api.get(URL, {"track": "adm-track"})
    assert rules.status_code == 403 and rules.json()["code"] == "rules_not_accepted"
    stranger = APIClient()
    stranger.force_authenticate(UserFactory(username="zed"))
    no_team = stranger.get(URL, {"track": "adm-track"})
    assert no_team.status_code == 403 and no_team.json()["code"] == "no_team"
    assert APIClient().get(URL, {"track": "adm-track"}).status_code == 401
    missing = api.get("/api/v1/challenges/none/algorithm-runs/admission/", {"track": "x"})
    assert missing.status_code == 404


def test_an_empty_track_or_tasks_is_refused_by_name_as_the_schema_says(member):
    _, api = member
    for params in ({"track": ""}, {"track": "", "tasks": "adm-a"}, {"tasks": ""}):
        answer = api.get(URL, params)
        assert answer.status_code == 400, params
        body = answer.json()
        assert body["code"] == "bad_request" and "is empty" in body["detail"], params
    assert "'track' is empty" in api.get(URL, {"track": ""}).json()["detail"]
    schema = APIClient().get("/api/v1/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/challenges/{slug}/algorithm-runs/admission/"]["get"]
    query = {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"}
    assert query["track"]["minLength"] == 1 and query["tasks"]["minLength"] == 1
