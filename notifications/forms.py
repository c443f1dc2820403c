"""Notification settings and the organizer's announcement / webhook forms."""

from __future__ import annotations

from django import forms

from .core import UnsafeUrl
from .models import Topic, Webhook, WebhookEvent
from .webhooks import webhook_validate_url


class PreferencesForm(forms.Form):
    def __init__(self, *args, initial_choices: dict[str, bool], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for topic in Topic:
            self.fields[topic.value] = forms.BooleanField(
                label=topic.label, required=False, initial=initial_choices.get(topic.value)
            )


class WebhookAdminForm(forms.ModelForm):
    """The secret is write-only: never rendered (not even masked), required for a new
    webhook, kept when left empty on an existing one, replaced when a new one is typed."""

    url = forms.CharField(max_length=500, help_text="http(s) only; called without redirects.")
    secret = forms.CharField(
        max_length=200,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Signs each try (the manual: “Notify people”). Never shown again: leave empty to "
        "keep "
        "the current secret, or type a new one to replace it.",
    )
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )

    class Meta:
        model = Webhook
        fields = ("challenge", "url", "secret", "events", "is_active")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.initial.pop("secret", None)  # nothing of the stored secret reaches the page
        if self.instance.pk is None:
            self.fields["secret"].help_text = (
                "Signs each try (the manual: “Notify people”); shared with the receiver. It "
                "is never "
                "shown again after saving."
            )

    def clean_url(self) -> str:
        try:
            return webhook_validate_url(url=self.cleaned_data["url"])
        except UnsafeUrl as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_secret(self) -> str:
        secret = self.cleaned_data.get("secret") or ""
        if secret.strip():
            return secret
        if self.instance.pk is None:
            raise forms.ValidationError("A new webhook needs a secret.")
        stored = type(self.instance).objects.filter(pk=self.instance.pk)
        return stored.values_list("secret", flat=True).first() or ""
