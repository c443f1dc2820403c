"""Organizer console: the frozen standings (read-only) and the teams' write-ups."""

from __future__ import annotations

from django.contrib import admin

from .models import FinalStandings, MethodWriteup


@admin.register(FinalStandings)
class FinalStandingsAdmin(admin.ModelAdmin):
    list_display = ("challenge", "frozen_at", "sha256")
    readonly_fields = ("challenge", "frozen_at", "sha256", "canonical")

    def has_add_permission(self, request) -> bool:
        return False  # created only by the freeze (finish_challenge or the beat task)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # immutable: its digest is published


@admin.register(MethodWriteup)
class MethodWriteupAdmin(admin.ModelAdmin):
    list_display = ("team", "title", "updated_at")
    list_filter = ("team__challenge",)
    readonly_fields = ("team", "title", "body", "pdf", "submissions", "updated_by", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False
