"""The organizers' console for a challenge's phases (docs/decisions/0066-phases.md): add and
edit with a reason, through the same services as the API (``challenges.phases``), so every
change is refused or audited alike."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from .models import Phase
from .phases import EDITABLE, PhaseRefused, phase_check, phase_create, phase_update


class PhaseAdminForm(forms.ModelForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Why the phases change: recorded in the audit log.",
    )

    class Meta:
        model = Phase
        fields = ("challenge", *EDITABLE)

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        values = {name: cleaned.get(name, getattr(self.instance, name)) for name in EDITABLE}
        challenge = cleaned.get("challenge") or self.instance.challenge
        candidate = Phase(pk=self.instance.pk, challenge=challenge, **values)
        try:
            phase_check(phase=candidate)
        except PhaseRefused as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None
        return cleaned

    def _get_validation_exclusions(self) -> set[str]:
        """The slug's uniqueness and the one final phase are the service's (the final mark
        moves to the phase marked), checked in :meth:`clean`."""
        return {*super()._get_validation_exclusions(), "slug", "final"}


@admin.register(Phase)
class PhaseAdmin(admin.ModelAdmin):
    form = PhaseAdminForm
    list_display = ("title", "slug", "challenge", "start", "end", "feedback", "final")
    list_filter = ("challenge", "feedback")
    ordering = ("challenge", "start")

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple[str, ...]:
        return ("challenge",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a phase holds its entries; change its dates instead

    def save_model(self, request: HttpRequest, obj: Phase, form, change: bool) -> None:
        values = {name: form.cleaned_data[name] for name in EDITABLE if name in form.cleaned_data}
        reason = form.cleaned_data["reason"]
        if change:
            fresh = Phase.objects.select_related("challenge").get(pk=obj.pk)
            saved = phase_update(phase=fresh, actor=request.user, values=values, reason=reason)
        else:
            saved = phase_create(
                challenge=form.cleaned_data["challenge"],
                actor=request.user,
                values=values,
                reason=reason,
            )
        obj.pk = saved.pk
