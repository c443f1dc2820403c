"""REST API v1 routes of the scoring app (DESIGN §7)."""

from django.urls import path

from . import api

urlpatterns = [
    path(
        "tasks/<slug:slug>/submissions/",
        api.SubmissionCreateApi.as_view(),
        name="api-submission-create",
    ),
    path("submissions/", api.SubmissionListApi.as_view(), name="api-submission-list"),
    path("submissions/<int:pk>/", api.SubmissionDetailApi.as_view(), name="api-submission-detail"),
]
