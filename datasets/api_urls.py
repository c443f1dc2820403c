"""REST API v1 routes of the datasets app (DESIGN §7)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
