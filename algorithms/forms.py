from django import forms


class AlgorithmUploadForm(forms.Form):
    challenge = forms.ChoiceField(label="Challenge")
    file = forms.FileField(label="Archive (.zip)", allow_empty_file=True)
    name = forms.CharField(
        max_length=100,
        required=False,
        help_text="Optional; defaults to the name in algorithm.yaml. The same name adds a version.",
    )

    def __init__(self, *args, challenges=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["challenge"].choices = [(c.slug, c.title) for c in challenges]
