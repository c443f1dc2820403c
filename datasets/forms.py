"""Forms of the datasets app: the organizer's bundle upload in the admin console, and a new
data version of a task (the console and the task owner's page)."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.template.defaultfilters import filesizeformat
from django.utils.text import get_valid_filename

from challenges.models import Track


class BundleSizeLimitHandler(FileUploadHandler):
    """Stops reading an uploaded file once it passes ``limit`` bytes (set ``too_big``).

    Placed before Django's own handlers, so an oversized upload is never written in full
    to a temporary file.
    """

    def __init__(self, request=None, *, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.too_big = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received = start + len(raw_data)
        if self.received > self.limit:
            self.too_big = True
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def too_big_message(size: int | None = None) -> str:
    limit = filesizeformat(settings.BUNDLE_MAX_BYTES)
    got = f" (this one is {filesizeformat(size)})" if size else ""
    return f"The bundle is larger than the limit of {limit}{got}."


class TaskImportForm(forms.Form):
    """Where the task goes (an existing track, or challenge and track slugs) and the zip."""

    track = forms.ModelChoiceField(
        queryset=Track.objects.select_related("challenge").order_by("challenge__slug", "order"),
        required=False,
        empty_label="— a new track (fill in the slugs below) —",
        label="Existing track",
    )
    challenge_slug = forms.SlugField(
        required=False,
        max_length=50,
        label="Challenge slug",
        help_text="For a new track: the challenge it belongs to; created when it doesn't exist"
        " (opens now, closes in 90 days).",
    )
    challenge_title = forms.CharField(
        required=False, max_length=200, label="Challenge title (when created)"
    )
    track_slug = forms.SlugField(
        required=False, max_length=50, label="Track slug", help_text="created when it doesn't exist"
    )
    track_title = forms.CharField(
        required=False, max_length=200, label="Track title (when created)"
    )
    bundle = forms.FileField(
        label="Bundle (.zip)",
        help_text="task.yaml, train, test and solution as CSV or Parquet, optional images/"
        " (see docs/architecture.md §4).",
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )
    leak_probe = forms.ChoiceField(
        required=False,
        choices=[
            ("", "task.yaml's choice, else the platform's (TASK_LEAK_PROBE)"),
            ("warn", "warn"),
            ("refuse", "refuse"),
            ("off", "off"),
        ],
        label="Leak probe",
        help_text="When a model of the train ids or row order alone predicts the labels better"
        " than the trivial baseline: warn, refuse the bundle, or do not check.",
    )

    def clean_bundle(self):
        bundle = self.cleaned_data["bundle"]
        if not bundle.name.lower().endswith(".zip"):
            raise forms.ValidationError(
                f"{bundle.name} is not a .zip file; zip the bundle folder and upload the zip."
            )
        if bundle.size > settings.BUNDLE_MAX_BYTES:
            raise forms.ValidationError(too_big_message(bundle.size))
        return bundle

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        track: Track | None = data.get("track")
        if track is not None:
            challenge_slug = data.get("challenge_slug")
            if challenge_slug and challenge_slug != track.challenge.slug:
                self.add_error(
                    "challenge_slug",
                    f"The track '{track.slug}' belongs to the challenge"
                    f" '{track.challenge.slug}'; leave this empty or pick another track.",
                )
            track_slug = data.get("track_slug")
            if track_slug and track_slug != track.slug:
                self.add_error(
                    "track_slug",
                    f"An existing track ('{track.slug}') is chosen above; leave this empty or"
                    " choose “a new track”.",
                )
            data["challenge_slug"] = track.challenge.slug
            data["track_slug"] = track.slug
        else:
            for field in ("challenge_slug", "track_slug"):
                if not data.get(field) and field not in self.errors:
                    self.add_error(field, "Choose an existing track or give both slugs.")
        return data


def _zip_only(bundle):
    if not bundle.name.lower().endswith(".zip"):
        raise forms.ValidationError(
            f"{bundle.name} is not a .zip file; zip the bundle folder and upload the zip."
        )
    if bundle.size > settings.BUNDLE_MAX_BYTES:
        raise forms.ValidationError(too_big_message(bundle.size))
    return bundle


class TaskReplaceForm(forms.Form):
    """A new version of a task's bundle, and why (every team's submissions are re-scored)."""

    bundle = forms.FileField(
        label="New bundle (.zip)",
        help_text="The same slug and kind in task.yaml; train, test and solution as CSV or"
        " Parquet, optional images/ (see docs/architecture.md §4).",
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )
    reason = forms.CharField(
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required: every team's submissions are re-scored on the new data, and the"
        " reason is kept in the audit log.",
    )

    phase = forms.ChoiceField(
        required=False,
        label="For the phase",
        help_text="Organizers: stage the bundle as this phase's own test set instead (kept"
        " from participants, re-scoring nothing, until the phase starts; then that phase's"
        " entries alone are scored on it). Empty: replace the data now.",
    )

    def __init__(self, *args, phases: list[tuple[str, str]] | None = None, **kwargs) -> None:
        """``phases``: ``(slug, title)`` of the phases a bundle may be staged for (an
        organizer's console); none: no such field (a task owner's page)."""
        super().__init__(*args, **kwargs)
        if phases:
            self.fields["phase"].choices = [("", "(none: replace the data now)"), *phases]
        else:
            del self.fields["phase"]

    def clean_bundle(self):
        return _zip_only(self.cleaned_data["bundle"])


@contextlib.contextmanager
def staged_upload(upload) -> Iterator[Path]:
    """The uploaded bundle written to a staging folder under its own (cleaned) name, which
    the problems quote; removed on exit."""
    staging = Path(settings.DATA_DIR) / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="upload-", dir=staging) as folder:
        source = Path(folder) / (get_valid_filename(Path(upload.name).name) or "bundle.zip")
        with source.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        yield source


class TaskStressForm(forms.Form):
    """A task's stress families (docs/organizers/stress.md): the defaults, none, or a list as
    task.yaml takes it, in JSON."""

    CHOICES = (
        ("defaults", "Every family that applies to the columns (default strength, equal shares)"),
        ("off", "None: no stress runs on this task"),
        ("custom", "These families (JSON below)"),
    )
    mode = forms.ChoiceField(choices=CHOICES, widget=forms.RadioSelect, label="Families")
    custom = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80, "spellcheck": "false"}),
        label="Families (JSON)",
        help_text='A list like [{"family": "typos", "strength": 0.5, "share": 0.3}]; strength and'
        " share are optional (share: of the clean test rows; the shares add up to at most 1).",
    )

    def __init__(self, *args: Any, task: Any, **kwargs: Any) -> None:
        stored = (task.meta or {}).get("stress") if isinstance(task.meta, dict) else None
        initial = {
            "mode": "defaults" if stored is None else ("off" if stored == [] else "custom"),
            "custom": json.dumps(stored or [], indent=2),
        }
        super().__init__(*args, initial=initial, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        mode = data.get("mode")
        if mode == "defaults":
            data["stress"] = None
        elif mode == "off":
            data["stress"] = []
        elif mode == "custom":
            try:
                data["stress"] = json.loads(data.get("custom") or "")
            except ValueError as exc:
                self.add_error("custom", f"This is not JSON: {exc}.")
        return data
