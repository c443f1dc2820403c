"""Organizer console: challenges, tracks, teams, reveal and visibility (the health panel is
``operations.admin``)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from knox.models import AuthToken

from common.export import rows_to_csv
from jobs.models import JobClaim

from . import (
    phase_admin,  # noqa: F401 - registers the phases' console
    rules,
    services,
    tokens,
)
from .accounts.forms import AccountPasswordSetForm
from .accounts.services import account_deactivate
from .console import AuditedChangeMixin, ReadOnlyAdminMixin, action_reason
from .models import (
    AuditEvent,
    Challenge,
    RulesAcceptance,
    Team,
    TeamMembership,
    Track,
    WorkerHeartbeat,
)

User = get_user_model()

# The start and end of a challenge of several phases, as its form says (one phase: its dates
# follow the challenge's, as before phases).
PHASED_DATES = (
    "This challenge runs in several phases: their dates decide, and the phases' edits set "
    "the challenge's start and end to their span. A date changed here moves no phase (and no "
    "submission): to move a phase, edit it under Phases, with a reason."
)


class TrackInline(admin.TabularInline):
    model = Track
    extra = 0
    prepopulated_fields = {"slug": ("title",)}


@admin.register(Challenge)
class ChallengeAdmin(AuditedChangeMixin, admin.ModelAdmin):
    list_display = (
        "title",
        "slug",
        "start",
        "end",
        "daily_submission_limit",
        "private_revealed",
        "reveal_at",
    )
    prepopulated_fields = {"slug": ("title",)}
    inlines = [TrackInline]
    search_fields = ("title", "slug")
    actions = ("reveal_private", "hide_private", "export_rules_acceptances")

    def get_form(self, request: HttpRequest, obj: Challenge | None = None, change=False, **kwargs):
        """With several phases the start and end say what a date changed here does: it
        moves no phase (docs/decisions/0066-phases.md)."""
        form = super().get_form(request, obj, change=change, **kwargs)
        several = obj is not None and obj.phases.count() > 1
        for name in ("start", "end") if several else ():
            if name in form.base_fields:
                form.base_fields[name].help_text = PHASED_DATES
        return form

    def save_model(self, request: HttpRequest, obj: Challenge, form, change: bool) -> None:
        before = Challenge.objects.filter(pk=obj.pk).values("rules", "rules_version").first()
        super().save_model(request, obj, form, change)
        if before is not None:
            version = obj.rules_version
            rules.challenge_rules_update(
                challenge=obj,
                previous_text=before["rules"],
                previous_version=before["rules_version"],
            )
            if obj.rules_version != version:
                self.message_user(
                    request,
                    f"The rules changed, so they are now version {obj.rules_version}: "
                    "participants must accept them again.",
                    messages.WARNING,
                )

    @admin.action(description="Export rules acceptances (CSV)")
    def export_rules_acceptances(
        self, request: HttpRequest, queryset: QuerySet[Challenge]
    ) -> HttpResponse:
        rows = rules.rules_acceptance_rows(challenges=queryset)
        response = HttpResponse(rows_to_csv(rules.CSV_HEADER, rows), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="rules-acceptances.csv"'
        return response

    @admin.action(description="Reveal the private leaderboards to everyone")
    def reveal_private(self, request: HttpRequest, queryset: QuerySet[Challenge]) -> None:
        for challenge in queryset:
            services.challenge_reveal(challenge=challenge, revealed=True, actor=request.user)
        self.message_user(
            request,
            f"Private leaderboards revealed for {queryset.count()} challenge(s).",
            messages.SUCCESS,
        )

    @admin.action(description="Hide the private leaderboards again")
    def hide_private(self, request: HttpRequest, queryset: QuerySet[Challenge]) -> None:
        for challenge in queryset:
            services.challenge_reveal(challenge=challenge, revealed=False, actor=request.user)
        self.message_user(
            request, "Private leaderboards hidden (organizers still see them).", messages.SUCCESS
        )


@admin.register(RulesAcceptance)
class RulesAcceptanceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Kept for the record: read-only (accepted by participants, exported as CSV)."""

    list_display = ("challenge", "user", "version", "accepted_at")
    list_filter = ("challenge",)
    search_fields = ("user__username", "user__email")


@admin.register(Track)
class TrackAdmin(AuditedChangeMixin, admin.ModelAdmin):
    list_display = ("title", "slug", "challenge", "order")
    list_filter = ("challenge",)
    prepopulated_fields = {"slug": ("title",)}


class MembershipFormSet(BaseInlineFormSet):
    """One team per person per challenge, said on the row rather than as a database error."""

    def clean(self) -> None:
        super().clean()
        challenge_id = self.instance.challenge_id
        seen: set[int] = set()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            user = data.get("user")
            if user is None or data.get("DELETE"):
                continue
            if user.pk in seen:
                form.add_error("user", f"{user} is listed twice.")
            seen.add(user.pk)
            other = (
                TeamMembership.objects.filter(user=user, challenge_id=challenge_id)
                .exclude(team_id=self.instance.pk)
                .select_related("team")
                .first()
                if challenge_id
                else None
            )
            if other is not None:
                form.add_error(
                    "user",
                    f"{user} is already in team “{other.team.name}” of this challenge (one team "
                    "per person per challenge); remove them there first.",
                )


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    formset = MembershipFormSet
    extra = 0
    raw_id_fields = ("user",)
    readonly_fields = ("joined_at",)
    exclude = ("challenge",)


class TeamAdminForm(forms.ModelForm):
    """Names chosen in the console meet the participants' rule (look-alikes, invisible
    characters: ``services.team_name_check``); organizers may use the reserved words."""

    class Meta:
        model = Team
        fields = ("challenge", "name", "is_baseline")

    def clean(self) -> dict:
        data = super().clean()
        challenge, name = data.get("challenge"), data.get("name")
        if challenge is not None and name is not None:
            try:
                data["name"] = services.team_name_check(
                    challenge=challenge, name=name, exclude_pk=self.instance.pk, organizer=True
                )
            except services.TeamError as exc:
                self.add_error("name", exc.message)
        return data


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamAdminForm
    list_display = ("name", "challenge", "is_baseline", "is_hidden", "created_at")
    list_filter = ("challenge", "is_baseline", "is_hidden")
    search_fields = ("name", "members__username", "members__email")
    inlines = [MembershipInline]
    readonly_fields = ("invite_code", "is_hidden")  # hidden only through the actions
    actions = ("hide_teams", "restore_teams")

    @admin.action(description="Hide / disqualify: remove from every leaderboard (records kept)")
    def hide_teams(self, request: HttpRequest, queryset: QuerySet[Team]) -> HttpResponse | None:
        reason = action_reason(
            model_admin=self, request=request, queryset=queryset, title="Hide or disqualify teams"
        )
        if isinstance(reason, HttpResponse):
            return reason
        for team in queryset:
            services.team_visibility_set(team=team, hidden=True, actor=request.user, reason=reason)
        self.message_user(
            request, f"{queryset.count()} team(s) removed from the leaderboards.", messages.SUCCESS
        )
        return None

    @admin.action(description="Restore to the leaderboards")
    def restore_teams(self, request: HttpRequest, queryset: QuerySet[Team]) -> HttpResponse | None:
        reason = action_reason(
            model_admin=self,
            request=request,
            queryset=queryset,
            title="Restore teams to the leaderboards",
            required=False,
        )
        if isinstance(reason, HttpResponse):
            return reason
        for team in queryset:
            services.team_visibility_set(team=team, hidden=False, actor=request.user, reason=reason)
        self.message_user(request, f"{queryset.count()} team(s) restored.", messages.SUCCESS)
        return None

    def save_formset(self, request, form, formset, change):
        """A membership added here (or given to another person) is created by the service,
        like one made with the invite code: the team hears of its new member."""
        formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for obj, fields in formset.changed_objects:
            if "user" in fields:  # another person in this row: they join now
                TeamMembership.objects.filter(pk=obj.pk).delete()
                services.team_membership_create(team=form.instance, user=obj.user)
        for obj in formset.new_objects:
            services.team_membership_create(team=form.instance, user=obj.user)
        formset.save_m2m()


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Written by the workers' heartbeat task only."""

    list_display = ("hostname", "seen_at")
    search_fields = ("hostname",)


@admin.register(JobClaim)
class JobClaimAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Which worker holds each running job, and the jobs taken from a lost worker (why)."""

    list_display = ("job_type", "object_id", "holder", "claimed_at", "lost_at", "lost_reason")
    list_filter = ("job_type", ("lost_at", admin.EmptyFieldListFilter))
    search_fields = ("holder", "object_id", "lost_reason")
    date_hierarchy = "claimed_at"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The append-only audit log: listed, filtered, searched and exported; never edited."""

    list_display = ("at", "actor_name", "action", "object_repr", "challenge", "reason")
    list_filter = ("action", "challenge", ("actor", admin.RelatedOnlyFieldListFilter), "at")
    search_fields = ("object_repr", "reason", "actor_name", "action", "object_id")
    date_hierarchy = "at"
    list_select_related = ("challenge",)
    actions = ("export_csv",)

    @admin.action(description="Export the selected events as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> HttpResponse:
        header = [
            "at",
            "actor",
            "action",
            "object_type",
            "object_id",
            "object",
            "challenge",
            "before",
            "after",
            "reason",
        ]
        rows = (
            [
                e.at.isoformat(),
                e.actor_name,
                e.action,
                e.object_type,
                e.object_id,
                e.object_repr,
                e.challenge.slug if e.challenge else "",
                json.dumps(e.before, sort_keys=True),
                json.dumps(e.after, sort_keys=True),
                e.reason,
            ]
            for e in queryset.select_related("challenge").order_by("at", "pk")
        )
        response = HttpResponse(rows_to_csv(header, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
        return response


admin.site.site_header = "Challenge organizer console"
admin.site.site_title = "Organizer console"
admin.site.index_template = "admin/challenge_index.html"


def _unregister_unused_allauth_admins() -> None:
    """The identity provider is configured by environment variables and tokens are not kept
    (settings/base.py), so allauth's social app and token pages would only mislead."""
    import allauth.socialaccount.admin  # noqa: F401 - registers them (this app comes first)
    from allauth.socialaccount.models import SocialApp, SocialToken

    for model in (SocialApp, SocialToken):
        if admin.site.is_registered(model):
            admin.site.unregister(model)


_unregister_unused_allauth_admins()


# --- API tokens: listed by prefix, revocable, never shown --------------------------------


def _replace_token_admins() -> None:
    """knox's own admin lists digests and makes keys; DRF's lists clear keys (its table is
    empty since migration 0007). Both give way to :class:`ApiTokenAdmin`."""
    import knox.admin  # noqa: F401 - registers its admin (knox comes before this app)
    import rest_framework.authtoken.admin  # noqa: F401 - likewise
    from rest_framework.authtoken.models import TokenProxy

    for model in (AuthToken, TokenProxy):
        if admin.site.is_registered(model):
            admin.site.unregister(model)


_replace_token_admins()


@admin.register(AuthToken)
class ApiTokenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who holds which API token, by prefix; an organizer may revoke one (audited). The key
    is not stored, so nothing here can show it."""

    list_display = ("user", "prefix", "created", "expiry")
    fields = ("user", "prefix", "created", "expiry")
    readonly_fields = fields
    search_fields = ("user__username", "token_key")
    list_filter = ("created",)
    ordering = ("-created",)
    actions = ("revoke_tokens",)

    @admin.display(description="token")
    def prefix(self, obj: AuthToken) -> str:
        return tokens.token_prefix(token=obj)

    @admin.action(description="Revoke the selected API tokens")
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[AuthToken]) -> None:
        count = 0
        for token in queryset.select_related("user"):
            tokens.api_token_revoke(token=token, actor=request.user)
            count += 1
        self.message_user(
            request, f"{count} token(s) revoked; clients using them are refused.", messages.SUCCESS
        )


# --- accounts: a new password or a deactivation revokes the API tokens (issue 39) -------


def _replace_user_admin() -> None:
    """django.contrib.auth's user admin gives way to :class:`AccountAdmin` (auth comes
    before this app, so its admin is registered already)."""
    if admin.site.is_registered(User):
        admin.site.unregister(User)


_replace_user_admin()


@admin.register(User)
class AccountAdmin(UserAdmin):
    """Django's user admin, whose password form and ``is_active`` switch go through
    ``accounts.services``: a new password (or none) and a deactivation revoke every API token
    of the account."""

    change_password_form = AccountPasswordSetForm
    actions = ("deactivate_accounts",)

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        deactivating = change and "is_active" in form.changed_data and not obj.is_active
        super().save_model(request, obj, form, change)
        if deactivating:
            account_deactivate(user=obj)

    @admin.action(description="Deactivate the selected accounts (their API tokens are revoked)")
    def deactivate_accounts(self, request: HttpRequest, queryset: QuerySet) -> None:
        users = list(queryset.filter(is_active=True).exclude(pk=request.user.pk))
        for user in users:
            account_deactivate(user=user)
        self.message_user(
            request,
            f"{len(users)} account(s) deactivated; their API tokens are revoked."
            + (" Your own account stays active." if queryset.filter(pk=request.user.pk) else ""),
            messages.SUCCESS,
        )
