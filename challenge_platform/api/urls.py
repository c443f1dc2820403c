"""REST API v1 routes (DESIGN §7)."""

from django.urls import path

from . import views

urlpatterns = [
    path("challenges/", views.ChallengeListApi.as_view(), name="api-challenge-list"),
]
