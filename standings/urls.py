"""Pages of the challenge's end."""

from django.urls import path

from . import views

app_name = "standings"
urlpatterns = [
    path("tracks/<slug:slug>/winners/", views.track_winners, name="track-winners"),
    path("teams/<int:pk>/method/", views.writeup_detail, name="writeup"),
    path("teams/<int:pk>/method/edit/", views.writeup_edit, name="writeup-edit"),
    path("teams/<int:pk>/method.pdf", views.writeup_pdf, name="writeup-pdf"),
    path(
        "tasks/<slug:slug>/post-challenge/",
        views.post_challenge_leaderboard,
        name="post-challenge",
    ),
]
