"""Organizer console: announcements, webhooks, and the logs of webhook and mail deliveries."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from challenges.console import ReadOnlyAdminMixin

from .forms import WebhookAdminForm
from .models import Announcement, MailDelivery, Webhook, WebhookDelivery
from .services import NotificationError, announcement_create
from .webhooks import webhook_test_send


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    list_display = ("title", "challenge", "created_at", "created_by")
    list_filter = ("challenge",)
    fields = ("challenge", "title", "body")

    def get_readonly_fields(self, request, obj=None):
        # Already mailed: editing it would leave the inboxes and the page disagreeing.
        return ("challenge", "title", "body") if obj else ()

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return
        try:
            created = announcement_create(
                challenge=obj.challenge, user=request.user, title=obj.title, body=obj.body
            )
        except NotificationError as exc:
            messages.error(request, exc.message)
            return
        obj.pk = created.pk
        messages.info(request, "Posted: shown on the challenge page and mailed to participants.")


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ("-created_at",)
    fields = (
        "event",
        "status",
        "attempts",
        "response_code",
        "last_error",
        "created_at",
        "delivered_at",
        "duration_ms",
    )
    readonly_fields = fields


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookAdminForm
    list_display = ("url", "challenge", "is_active", "events")
    list_filter = ("challenge", "is_active")
    inlines = [DeliveryInline]
    actions = ("send_test_event",)

    @admin.action(description="Send a test event to the selected webhooks")
    def send_test_event(self, request, queryset) -> None:
        for webhook in queryset.select_related("challenge"):
            webhook_test_send(webhook=webhook)
        messages.info(request, f"Test event queued for {queryset.count()} webhook(s).")


def tries_table(delivery: WebhookDelivery) -> str:
    """Every try of a delivery: when, to which address, the answer, the error, how long."""
    if not delivery.tries:
        return "no try yet"
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                t.get("at", ""),
                t.get("address") or "-",
                t.get("response_code") or "-",
                t.get("error") or "ok",
                "-" if t.get("duration_ms") is None else f"{t['duration_ms']} ms",
            )
            for t in delivery.tries
            if isinstance(t, dict)
        ),
    )
    return format_html(
        "<table><thead><tr><th>at</th><th>address</th><th>answer</th><th>error</th>"
        "<th>took</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "event",
        "webhook",
        "status",
        "attempts",
        "response_code",
        "created_at",
        "delivered_at",
        "duration_ms",
        "last_error",
    )
    list_filter = ("status", "event", "webhook__challenge")
    readonly_fields = (
        "webhook",
        "event",
        "event_key",
        "body",
        "status",
        "attempts",
        "response_code",
        "last_error",
        "created_at",
        "status_changed_at",
        "started_at",
        "due_at",
        "delivered_at",
        "duration_ms",
        "claim_token",
        "tries_log",
    )

    @admin.display(description="tries")
    def tries_log(self, obj: WebhookDelivery) -> str:
        return tries_table(obj)


@admin.register(MailDelivery)
class MailDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every notification mail: whom, about what, and whether it went out (a job each)."""

    list_display = ("created_at", "user", "topic", "subject", "status", "attempts", "error")
    list_filter = ("status", "topic")
    search_fields = ("subject", "user__username", "user__email", "error")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
