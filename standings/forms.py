"""The method write-up form (validation of the PDF lives in the service)."""

from __future__ import annotations

from django import forms

from scoring.models import Submission


class WriteupForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16}),
        required=False,
        max_length=100_000,
        help_text="Markdown. Scripts and raw HTML are removed.",
    )
    pdf = forms.FileField(required=False, help_text="Optional PDF, at most 10 MiB.")
    remove_pdf = forms.BooleanField(required=False, label="Remove the attached PDF")
    submissions = forms.ModelMultipleChoiceField(
        queryset=Submission.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The submissions this method produced (your finals across tasks).",
    )

    def __init__(self, *args, team, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["submissions"]
        field.queryset = (
            Submission.objects.filter(team=team, status="scored")
            .select_related("task")
            .order_by("task__slug", "-is_final", "-created_at")
        )
        field.label_from_instance = lambda s: (
            f"#{s.pk} {s.task.slug}{' (final)' if s.is_final else ''} — "
            f"{s.created_at:%Y-%m-%d %H:%M}"
        )
