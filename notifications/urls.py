"""Notification pages."""

from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("notifications/settings/", views.notification_settings, name="settings"),
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("teams/<int:pk>/invite/", views.team_invite, name="team-invite"),
]
