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
        # Write-only (issue 25): the page never carries the secret back to the browser.
        widgets = {"secret": forms.PasswordInput(render_value=False)}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["secret"].required = False
            self.fields["secret"].help_text = (
                "Write-only: leave empty to keep the current secret, or type a new one."
            )

    def clean_secret(self) -> str:
        secret = self.cleaned_data.get("secret") or ""
        if not secret and self.instance.pk:
            return Webhook.objects.get(pk=self.instance.pk).secret  # kept as it was
        if not secret:
            raise forms.ValidationError("A webhook needs a secret to sign its bodies.")
        return secret

    def clean_url(self) -> str:
        try:
            return check_webhook_url(self.cleaned_data["url"])
        except UnsafeUrl as exc:
            raise forms.ValidationError(str(exc)) from None
