"""Organizer console: algorithms, their versions and every run (read-mostly; runs are jobs)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpResponse

from algorithms.models import Algorithm, AlgorithmRun, AlgorithmVersion
from algorithms.services.benchmark import benchmark_status
from algorithms.services.budget import budget_open, used_cpu_seconds_today
from algorithms.services.common import AlgorithmRefused
from algorithms.services.runs import algorithm_run_cancel
from challenges.audit import ReasonRequired
from challenges.console import ReadOnlyAdminMixin, action_reason
from challenges.models import Challenge


class VersionInline(admin.TabularInline):
    model = AlgorithmVersion
    fields = (
        "number",
        "entrypoint",
        "archive_size",
        "archive_sha256",
        "in_benchmark",
        "is_final",
        "created_by",
        "created_at",
    )
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
        "agreement",
        "created_at",
    )
    list_filter = ("status", "profile", "task__track__challenge")
    readonly_fields = [f.name for f in AlgorithmRun._meta.fields]
    actions = ["cancel"]
    change_list_template = "algorithms/admin/algorithmrun_change_list.html"

    def changelist_view(self, request, extra_context=None):
        """The list, under the living benchmark's queue per challenge (as its API says)."""
        challenges = Challenge.objects.order_by("-start")[:10]
        extra = {
            "benchmark": [
                {"challenge": c, "status": benchmark_status(challenge=c)} for c in challenges
            ],
            "benchmark_budget": settings.BENCHMARK_CPU_HOURS_PER_DAY,
            "benchmark_used": used_cpu_seconds_today() / 3600.0,
            "benchmark_open": budget_open(),
        }
        return super().changelist_view(request, extra_context={**(extra_context or {}), **extra})

    @admin.action(description="Cancel the selected runs")
    def cancel(self, request, queryset):
        reason = action_reason(
            model_admin=self, request=request, queryset=queryset, title="Cancel algorithm runs"
        )
        if isinstance(reason, HttpResponse):
            return reason
        for run in queryset:
            try:
                algorithm_run_cancel(run=run, actor=request.user, reason=reason)
            except (AlgorithmRefused, ReasonRequired) as exc:
                self.message_user(request, exc.message, messages.WARNING)
        return None
