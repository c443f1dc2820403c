"""REST API v1 routes of the datasets app (docs/architecture.md §7)."""

from django.urls import path

from . import api

urlpatterns = [
    path("tasks/", api.TaskListApi.as_view(), name="api-task-list"),
    path("tasks/<slug:slug>/", api.TaskDetailApi.as_view(), name="api-task-detail"),
    path(
        "tasks/<slug:slug>/files/<str:name>",
        api.TaskFileDownloadApi.as_view(),
        name="api-task-file",
    ),
    path(
        "tasks/<slug:slug>/croissant.json",
        api.TaskCroissantApi.as_view(),
        name="api-task-croissant",
    ),
]
