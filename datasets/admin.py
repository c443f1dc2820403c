"""Organizer console for the datasets app."""

from django.contrib import admin

from .models import Task


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "kind", "track", "train_rows", "test_rows", "primary_metric")
    list_filter = ("kind", "track__challenge", "track")
    search_fields = ("title", "slug")
