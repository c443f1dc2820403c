"""REST API v1 routes of the leaderboard app (DESIGN §7)."""

from django.urls import path

from . import api, transfer_api

urlpatterns = [
    path(
        "tasks/<slug:slug>/leaderboard/",
        api.TaskLeaderboardApi.as_view(),
        name="api-task-leaderboard",
    ),
    path(
        "tracks/<slug:slug>/leaderboard/",
        api.TrackLeaderboardApi.as_view(),
        name="api-track-leaderboard",
    ),
    path(
        "tracks/<slug:slug>/transfer/",
        transfer_api.TrackTransferApi.as_view(),
        name="api-track-transfer",
    ),
]
