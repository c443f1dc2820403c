"""Organizer console: challenges, tracks and teams."""

from django.contrib import admin

from .models import Challenge, Team, TeamMembership, Track, WorkerHeartbeat


class TrackInline(admin.TabularInline):
    model = Track
    extra = 0
    prepopulated_fields = {"slug": ("title",)}


@admin.register(Challenge)
class ChallengeAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "start", "end", "daily_submission_limit", "private_revealed")
    prepopulated_fields = {"slug": ("title",)}
    inlines = [TrackInline]
    search_fields = ("title", "slug")


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "challenge", "order")
    list_filter = ("challenge",)
    prepopulated_fields = {"slug": ("title",)}


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    raw_id_fields = ("user",)
    readonly_fields = ("joined_at",)
    exclude = ("challenge",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "challenge", "is_baseline", "is_hidden", "created_at")
    list_filter = ("challenge", "is_baseline", "is_hidden")
    search_fields = ("name",)
    inlines = [MembershipInline]
    readonly_fields = ("invite_code",)


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("hostname", "seen_at")
