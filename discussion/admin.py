"""Organizer console: the discussion's threads and posts, read-only (moderation goes through
the pages and the API, with a reason and an audit event); a post's hidden text and its
history before each edit and its deletion are read here."""

from __future__ import annotations

from django.contrib import admin

from challenges.console import ReadOnlyAdminMixin

from .models import Post, PostRevision, Thread


class PostRevisionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PostRevision
    fields = ("replaced_at", "reason", "body")
    readonly_fields = fields
    extra = 0


@admin.register(Thread)
class ThreadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("title", "challenge", "task", "author", "locked", "pinned", "last_post_at")
    list_filter = ("challenge", "locked", "pinned")
    search_fields = ("title",)


@admin.register(Post)
class PostAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("pk", "thread", "author", "by_organizers", "hidden", "deleted_at", "created_at")
    list_filter = ("hidden", "by_organizers", "thread__challenge")
    search_fields = ("body", "thread__title")
    readonly_fields = (
        "thread",
        "author",
        "team",
        "by_organizers",
        "body",
        "created_at",
        "edited_at",
        "deleted_at",
        "hidden",
        "hidden_reason",
    )
    fields = readonly_fields
    inlines = (PostRevisionInline,)
