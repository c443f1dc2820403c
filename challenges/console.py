"""Reusable pieces of the organizer console (the Django admin).

``ReadOnlyAdminMixin`` is the one home of "derived or recorded data is looked at, never
typed": leaderboard entries, standings snapshots, heartbeats, run logs, deliveries and the
audit log are written only by the code that derives them, so the console offers no add,
change or delete, also not to superusers.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from .audit import audit_record, field_changes


class ReadOnlyAdminMixin:
    """No add, change or delete in the console; viewing (and the list's actions) stays."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=2000,
        help_text="Recorded in the audit log and shown to the team concerned.",
    )


def action_reason(
    *, model_admin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    title: str,
    required: bool = True,
) -> str | HttpResponse:
    """Django's action-confirmation pattern: the first POST (from the change list) answers
    with a page asking for the reason; the second, with ``apply``, returns the reason."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    form.fields["reason"].required = required
    if form.is_bound and form.is_valid():
        return form.cleaned_data["reason"].strip()
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": opts,
        "objects": list(queryset),
        "form": form,
        "action": request.POST.get("action", ""),
        "select_across": request.POST.get("select_across", "0"),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/action_reason.html", context)


def _field_values(obj: Model, names: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in names:
        try:
            field = obj._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if getattr(field, "many_to_many", False) or not getattr(field, "concrete", False):
            continue
        values[name] = field.value_from_object(obj)
    return values


class AuditedChangeMixin:
    """Record an organizer's add or edit of the model in the audit log, with the before and
    after values of the fields the form changed (dates, limits, rules...)."""

    def save_model(self, request: HttpRequest, obj: Model, form, change: bool) -> None:
        names = list(form.changed_data)
        old = type(obj).objects.filter(pk=obj.pk).first() if change and obj.pk else None
        before = _field_values(old, names) if old is not None else {}
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        after = _field_values(obj, names)
        before, after = field_changes(old=before, new=after) if change else ({}, after)
        if change and not after:
            return  # nothing changed: nothing to record
        audit_record(
            actor=request.user,
            action=f"{obj._meta.model_name}.{'change' if change else 'add'}",
            obj=obj,
            before=before,
            after=after,
        )
