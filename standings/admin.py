"""Organizer console: the frozen standings (read-only) and the teams' write-ups."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from challenges.admin import ChallengeAdmin
from challenges.console import ReadOnlyAdminMixin, action_reason
from challenges.models import Challenge

from .models import FinalStandings, MethodWriteup
from .services import StandingsError, challenge_end_now, standings_refreeze


@admin.register(FinalStandings)
class FinalStandingsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Created only by the freeze (finish_challenge or the beat task); immutable: its digest
    is published."""

    list_display = ("challenge", "frozen_at", "sha256")
    list_filter = ("challenge",)
    readonly_fields = ("challenge", "frozen_at", "sha256", "canonical")
    actions = ("refreeze",)

    @admin.action(description="Re-freeze from the current boards (after a late decision)")
    def refreeze(
        self, request: HttpRequest, queryset: QuerySet[FinalStandings]
    ) -> HttpResponse | None:
        reason = action_reason(
            model_admin=self,
            request=request,
            queryset=queryset,
            title="Re-freeze the final standings from the current boards",
        )
        if isinstance(reason, HttpResponse):
            return reason
        for frozen in queryset.select_related("challenge"):
            try:
                _, changed = standings_refreeze(
                    challenge=frozen.challenge, actor=request.user, reason=reason
                )
            except StandingsError as exc:
                self.message_user(request, f"{frozen.challenge}: {exc.message}", messages.ERROR)
                continue
            if changed:
                self.message_user(
                    request,
                    f"{frozen.challenge}: final standings re-frozen; the previous digest is kept "
                    "in the audit log.",
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request,
                    f"{frozen.challenge}: the boards rank exactly as frozen; nothing changed.",
                    messages.WARNING,
                )
        return None


@admin.register(MethodWriteup)
class MethodWriteupAdmin(admin.ModelAdmin):
    list_display = ("team", "title", "updated_at")
    list_filter = ("team__challenge",)
    readonly_fields = ("team", "title", "body", "pdf", "submissions", "updated_by", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False


# --- "End now" on the challenge page of the console --------------------------------------
# The action lives here, above the challenge app in the layers, and joins the challenge
# admin's actions when this module is loaded (as operations.admin extends the site).


@admin.action(description="End now and freeze the final standings")
def end_challenge_now(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Challenge]
) -> HttpResponse | None:
    reason = action_reason(
        model_admin=model_admin,
        request=request,
        queryset=queryset,
        title="End the challenge now and freeze its final standings (teams' time is cut short)",
    )
    if isinstance(reason, HttpResponse):
        return reason
    for challenge in queryset:
        was_open = challenge.is_open()
        try:
            frozen, created = challenge_end_now(
                challenge=challenge, actor=request.user, reason=reason
            )
        except StandingsError as exc:
            model_admin.message_user(request, f"{challenge}: {exc.message}", messages.ERROR)
            continue
        what = (
            "ended now and its final standings frozen"
            if was_open
            else ("final standings frozen" if created else "already ended and frozen")
        )
        model_admin.message_user(
            request, f"{challenge}: {what} (sha256 {frozen.sha256[:16]}…).", messages.SUCCESS
        )
    return None


ChallengeAdmin.actions = (*ChallengeAdmin.actions, end_challenge_now)
