"""The composed pages' URLs, in the root namespace (their paths and names are the site's)."""

from django.urls import path

from . import views

urlpatterns = [
    path("c/<slug:slug>/", views.challenge_detail, name="challenge-detail"),
    path("teams/<int:pk>/", views.team_detail, name="team-detail"),
]
