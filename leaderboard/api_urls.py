"""REST API v1 routes of the leaderboard app (DESIGN §7)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
