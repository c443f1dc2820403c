"""Organizer console: algorithms, their versions and every run (read-mostly; runs are jobs)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponse

from algorithms.models import Algorithm, AlgorithmRun, AlgorithmVersion
from algorithms.services import AlgorithmRefused, algorithm_run_cancel
from challenge_platform.audit import ReasonRequired
from challenge_platform.console import ReadOnlyAdminMixin, action_reason


class VersionInline(admin.TabularInline):
    model = AlgorithmVersion
    fields = ("number", "entrypoint", "archive_size", "archive_sha256", "created_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Algorithm)
class AlgorithmAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "challenge", "created_at")
    list_filter = ("challenge",)
    search_fields = ("name", "team__name")
    inlines = [VersionInline]


@admin.register(AlgorithmRun)
class AlgorithmRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Runs are jobs: their log and results are written by the worker; cancel is an action."""

    list_display = (
        "id",
        "version",
        "task",
        "status",
        "profile",
        "seconds",
        "peak_memory_mb",
        "limit_hit",
        "created_at",
    )
    list_filter = ("status", "profile", "task__track__challenge")
    readonly_fields = [f.name for f in AlgorithmRun._meta.fields]
    actions = ["cancel"]

    @admin.action(description="Cancel the selected runs")
    def cancel(self, request, queryset):
        reason = action_reason(self, request, queryset, title="Cancel algorithm runs")
        if isinstance(reason, HttpResponse):
            return reason
        for run in queryset:
            try:
                algorithm_run_cancel(run=run, actor=request.user, reason=reason)
            except (AlgorithmRefused, ReasonRequired) as exc:
                self.message_user(request, exc.message, messages.WARNING)
        return None
