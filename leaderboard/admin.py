"""Organizer console for the leaderboard app."""

from django.contrib import admin

from challenge_platform.console import ReadOnlyAdminMixin

from .models import LeaderboardEntry


@admin.register(LeaderboardEntry)
class LeaderboardEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Derived from the scored submissions (and the bootstrap intervals): never typed."""

    list_display = ("task", "split", "position", "rank", "team", "score", "is_baseline")
    list_filter = ("task__track__challenge", "task", "split", "is_baseline")
    search_fields = ("team__name", "task__slug")
    list_select_related = ("task", "team")
