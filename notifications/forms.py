"""Notification settings and the organizer's announcement / webhook forms."""

from __future__ import annotations

from django import forms

from .core import UnsafeUrl, check_webhook_url
from .models import Kind, Webhook, WebhookEvent


class PreferencesForm(forms.Form):
    def __init__(self, *args, initial_choices: dict[str, bool], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for kind in Kind:
            self.fields[kind.value] = forms.BooleanField(
                label=kind.label, required=False, initial=initial_choices.get(kind.value)
            )


class WebhookAdminForm(forms.ModelForm):
    url = forms.CharField(max_length=500, help_text="http(s) only; called without redirects.")
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )

    class Meta:
        model = Webhook
        fields = ("challenge", "url", "secret", "events", "is_active")
        widgets = {"secret": forms.PasswordInput(render_value=True)}

    def clean_url(self) -> str:
        try:
            return check_webhook_url(self.cleaned_data["url"])
        except UnsafeUrl as exc:
            raise forms.ValidationError(str(exc)) from None
