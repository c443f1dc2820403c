"""REST API v1 routes of the leaderboard app (docs/architecture.md §7)."""

from django.urls import path

from . import api
from .champion import api as champion_api
from .results import api as results_api
from .transfer import api as transfer_api

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
        "tasks/<slug:slug>/champion/",
        champion_api.TaskChampionApi.as_view(),
        name="api-task-champion",
    ),
    path(
        "tasks/<slug:slug>/release-check/",
        champion_api.TaskReleaseCheckApi.as_view(),
        name="api-task-release-check",
    ),
    path(
        "tracks/<slug:slug>/transfer/",
        transfer_api.TrackTransferApi.as_view(),
        name="api-track-transfer",
    ),
    path(
        "tracks/<slug:slug>/results.parquet",
        results_api.TrackResultsParquetApi.as_view(),
        name="api-track-results-parquet",
    ),
    path(
        "tracks/<slug:slug>/results.csv",
        results_api.TrackResultsCsvApi.as_view(),
        name="api-track-results-csv",
    ),
    path(
        "tracks/<slug:slug>/results/croissant.json",
        results_api.TrackResultsCroissantApi.as_view(),
        name="api-track-results-croissant",
    ),
]
