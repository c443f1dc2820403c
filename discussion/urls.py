"""The discussion's pages (docs/participants/ask-and-answer.md)."""

from django.urls import path

from . import views

app_name = "discussion"

urlpatterns = [
    path("c/<slug:slug>/threads/", views.thread_list, name="thread-list"),
    path("threads/<int:pk>/", views.thread_detail, name="thread-detail"),
    path("threads/<int:pk>/reply/", views.thread_reply, name="thread-reply"),
    path("threads/<int:pk>/follow/", views.thread_follow, name="thread-follow"),
    path("threads/<int:pk>/lock/", views.thread_lock, name="thread-lock"),
    path("threads/<int:pk>/pin/", views.thread_pin, name="thread-pin"),
    path("posts/<int:pk>/edit/", views.post_edit, name="post-edit"),
    path("posts/<int:pk>/delete/", views.post_delete, name="post-delete"),
    path("posts/<int:pk>/answer/", views.post_answer, name="post-answer"),
    path("posts/<int:pk>/hide/", views.post_hide, name="post-hide"),
]
