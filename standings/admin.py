"""Organizer console: the frozen standings (read-only) and the teams' write-ups."""

from __future__ import annotations

from django.contrib import admin

from challenge_platform.console import ReadOnlyAdminMixin

from .models import FinalStandings, MethodWriteup


@admin.register(FinalStandings)
class FinalStandingsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Created only by the freeze (finish_challenge or the beat task); immutable: its digest
    is published."""

    list_display = ("challenge", "frozen_at", "sha256")
    list_filter = ("challenge",)
    readonly_fields = ("challenge", "frozen_at", "sha256", "canonical")


@admin.register(MethodWriteup)
class MethodWriteupAdmin(admin.ModelAdmin):
    list_display = ("team", "title", "updated_at")
    list_filter = ("team__challenge",)
    readonly_fields = ("team", "title", "body", "pdf", "submissions", "updated_by", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False
