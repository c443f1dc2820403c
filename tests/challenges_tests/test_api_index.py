"""``GET /api/v1/``: the API answers with its index (JSON), whose every link leads somewhere."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.challenges_tests.factories import ChallengeFactory, TrackFactory, UserFactory, api_key

pytestmark = pytest.mark.django_db


def test_the_api_root_is_its_index_with_links_that_answer() -> None:
    challenge = ChallengeFactory(slug="cup")
    TrackFactory(challenge=challenge, slug="kway")
    response = Client().get("/api/v1/")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    index = response.json()
    assert index["version"] == "v1"
    assert index["schema"] == "http://testserver/api/v1/schema/"
    assert index["docs"] == "http://testserver/api/v1/docs/"
    assert "Authorization: Token" in index["authentication"]
    endpoints = index["endpoints"]
    assert endpoints["challenges"] == "http://testserver/api/v1/challenges/"
    assert {"tasks", "submissions", "algorithms", "auth_token", "team_join"} <= set(endpoints)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key(UserFactory())}")
    for name in ("challenges", "tasks", "submissions", "algorithms"):
        assert api.get(endpoints[name]).status_code == 200, name
    # One object's endpoints as URI templates: filled in, they answer.
    templates = index["templates"]
    assert templates["track_leaderboard"] == "http://testserver/api/v1/tracks/{slug}/leaderboard/"
    assert templates["submission"] == "http://testserver/api/v1/submissions/{id}/"
    assert api.get(templates["track_leaderboard"].format(slug="kway")).status_code == 200
    assert api.get(templates["challenge_rules"].format(slug="cup")).status_code == 200
    assert api.get(templates["challenge_standings"].format(slug="cup")).status_code == 200
    assert api.get(templates["submission"].format(id=1)).status_code == 404  # none yet


def test_the_index_is_in_the_schema() -> None:
    schema = Client().get("/api/v1/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/"]["get"]
    assert operation["operationId"] == "api_index"
