"""Organizer console for the scoring app."""

from django.contrib import admin

from .models import Submission


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "task",
        "team",
        "status",
        "public_score",
        "created_at",
        "is_final",
        "is_hidden",
    )
    list_filter = ("status", "task", "is_hidden")
    search_fields = ("team__name", "note")
    raw_id_fields = ("uploaded_by",)
