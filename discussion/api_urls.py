"""REST API v1 routes of the discussion (docs/architecture.md §7)."""

from django.urls import path

from . import api

urlpatterns = [
    path("challenges/<slug:slug>/threads/", api.ThreadListApi.as_view(), name="api-thread-list"),
    path("threads/<int:pk>/", api.ThreadDetailApi.as_view(), name="api-thread-detail"),
    path("threads/<int:pk>/posts/", api.ThreadPostCreateApi.as_view(), name="api-post-create"),
    path("threads/<int:pk>/lock/", api.ThreadLockApi.as_view(), name="api-thread-lock"),
    path("threads/<int:pk>/pin/", api.ThreadPinApi.as_view(), name="api-thread-pin"),
    path("threads/<int:pk>/follow/", api.ThreadFollowApi.as_view(), name="api-thread-follow"),
    path("posts/<int:pk>/", api.PostEditApi.as_view(), name="api-post-edit"),
    path("posts/<int:pk>/delete/", api.PostDeleteApi.as_view(), name="api-post-delete"),
    path("posts/<int:pk>/answer/", api.PostAnswerApi.as_view(), name="api-post-answer"),
    path("posts/<int:pk>/hide/", api.PostHideApi.as_view(), name="api-post-hide"),
]
