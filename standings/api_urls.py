"""REST API v1 routes of the standings app (docs/architecture.md §10)."""

from django.urls import path

from . import api

urlpatterns = [
    path(
        "challenges/<slug:slug>/standings/",
        api.ChallengeStandingsApi.as_view(),
        name="api-challenge-standings",
    ),
    path(
        "tasks/<slug:slug>/post-challenge/",
        api.PostChallengeLeaderboardApi.as_view(),
        name="api-task-post-challenge",
    ),
]
