"""Web pages of the leaderboard app."""

from django.urls import path  # noqa: F401

app_name = "leaderboard"
urlpatterns: list = []
