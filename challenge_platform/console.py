"""Reusable pieces of the organizer console (the Django admin).

``ReadOnlyAdminMixin`` is the one home of "derived or recorded data is looked at, never
typed": leaderboard entries, standings snapshots, heartbeats, run logs, deliveries and the
audit log are written only by the code that derives them, so the console offers no add,
change or delete, also not to superusers.
"""

from __future__ import annotations

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """No add, change or delete in the console; viewing (and the list's actions) stays."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
