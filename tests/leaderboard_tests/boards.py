"""Boards with a real Redis cache: the helpers of the board cache's tests (test_cache.py,
test_fastpath.py); their fixtures (``redis_cache``, ``setup``) are in conftest.py."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from leaderboard.refresh import task_leaderboard_refresh

from .factories import scored

PAGES = {
    "task api": "/api/v1/tasks/t1/leaderboard/",
    "task page": "/tasks/t1/leaderboard/",
    "task csv": "/tasks/t1/leaderboard.csv",
    "track api": "/api/v1/tracks/trk/leaderboard/",
    "track page": "/tracks/trk/",
    "track csv": "/tracks/trk/leaderboard.csv",
}

# The boards a reader without cookie or credentials gets straight from Redis (the fast path).
FAST = {name: path for name, path in PAGES.items() if "csv" not in name}


def refresh(task, commit) -> None:
    with commit(execute=True):
        task_leaderboard_refresh(task_id=task.pk, bootstrap=False)


def shown(path: str, client: APIClient | None = None) -> str:
    response = (client or APIClient()).get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.content.decode()


def signed_in_viewers(setup, commit) -> tuple[APIClient, object, APIClient]:
    """A board with ann's 0.61 (0.33 private), an organizer's client, and a participant
    (the user and a signed-in client)."""
    challenge, track, task, teams = setup
    scored(task, teams["ann"], 0.61, 0.33)
    refresh(task, commit)
    organizer = APIClient()
    organizer.force_login(get_user_model().objects.create_user("org", password="x", is_staff=True))
    pat = get_user_model().objects.create_user("pat-the-participant", password="x")
    participant = APIClient()
    participant.force_login(pat)
    return organizer, pat, participant
