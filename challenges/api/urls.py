"""REST API v1 routes of the challenge domain (docs/architecture.md §7)."""

from django.urls import path

from . import phases, views

urlpatterns = [
    path("", views.ApiIndexApi.as_view(), name="api-index"),
    path("auth/token/", views.TokenCreateApi.as_view(), name="api-token"),
    path("challenges/", views.ChallengeListApi.as_view(), name="api-challenge-list"),
    path("challenges/<slug:slug>/rules/", views.ChallengeRulesApi.as_view(), name="api-rules"),
    path(
        "challenges/<slug:slug>/rules/accept/",
        views.ChallengeRulesAcceptApi.as_view(),
        name="api-rules-accept",
    ),
    path("challenges/<slug:slug>/teams/", views.TeamCreateApi.as_view(), name="api-team-create"),
    path("teams/join/", views.TeamJoinApi.as_view(), name="api-team-join"),
    path(
        "challenges/<slug:slug>/phases/",
        phases.ChallengePhasesApi.as_view(),
        name="api-challenge-phases",
    ),
    path("phases/<int:pk>/", phases.PhaseUpdateApi.as_view(), name="api-phase-update"),
]
