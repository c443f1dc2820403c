"""Leaderboard pages."""

from django.urls import path

from . import views

app_name = "leaderboard"
urlpatterns = [
    path("tasks/<slug:slug>/leaderboard/", views.task_leaderboard, name="task"),
    path("tasks/<slug:slug>/leaderboard.csv", views.task_leaderboard_csv, name="task-csv"),
    path("tasks/<slug:slug>/shakeup/", views.task_shakeup, name="task-shakeup"),
    path("tracks/<slug:slug>/", views.track_leaderboard, name="track"),
    path("tracks/<slug:slug>/leaderboard.csv", views.track_leaderboard_csv, name="track-csv"),
    path("tracks/<slug:slug>/transfer/", views.track_transfer, name="track-transfer"),
]
