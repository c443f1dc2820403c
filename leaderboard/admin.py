"""Organizer console for the leaderboard app."""

from django.contrib import admin

from .models import LeaderboardEntry


@admin.register(LeaderboardEntry)
class LeaderboardEntryAdmin(admin.ModelAdmin):
    list_display = ("task", "split", "position", "rank", "team", "score", "is_baseline")
    list_filter = ("task", "split")
