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
    # Drawn when the page is made (scoring_tags.new_upload_key): the same form sent again
    # with the same file (a resend after a lost answer) is one submission (the view keys it
    # by this and the file's digest, so another file sent from the same page is another).
    idempotency_key = forms.CharField(
        required=False, max_length=64, widget=forms.HiddenInput, strip=True
    )
