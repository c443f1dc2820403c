"""REST API v1 routes of the scoring app (docs/architecture.md §7)."""

from django.urls import path

from . import api, owner_api, reference_api

urlpatterns = [
    path(
        "tasks/<slug:slug>/submissions/",
        api.SubmissionCreateApi.as_view(),
        name="api-submission-create",
    ),
    path(
        "tasks/<slug:slug>/all-submissions/",
        owner_api.TaskSubmissionListApi.as_view(),
        name="api-task-submission-list",
    ),
    path(
        "tasks/<slug:slug>/versions/",
        owner_api.TaskVersionListApi.as_view(),
        name="api-task-version-list",
    ),
    path(
        "tasks/<slug:slug>/versions/uploads/<int:pk>/",
        owner_api.TaskVersionUploadApi.as_view(),
        name="api-task-version-upload",
    ),
    path(
        "tasks/<slug:slug>/references/",
        reference_api.TaskReferenceListApi.as_view(),
        name="api-task-reference-list",
    ),
    path(
        "tasks/<slug:slug>/references/primary/",
        reference_api.TaskReferencePrimaryApi.as_view(),
        name="api-task-reference-primary",
    ),
    path(
        "tasks/<slug:slug>/references/<int:pk>/",
        reference_api.TaskReferenceDeleteApi.as_view(),
        name="api-task-reference-delete",
    ),
    path("submissions/", api.SubmissionListApi.as_view(), name="api-submission-list"),
    path("submissions/<int:pk>/", api.SubmissionDetailApi.as_view(), name="api-submission-detail"),
]
