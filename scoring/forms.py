"""Forms of the scoring app's pages."""

from django import forms


class SubmissionForm(forms.Form):
    file = forms.FileField(
        label="Prediction file",
        help_text="CSV, gzipped CSV or Parquet with the columns id and label "
        "(optionally proba_<class> or score).",
    )
    note = forms.CharField(
        label="Note", max_length=500, required=False, help_text="Optional: what you tried."
    )
