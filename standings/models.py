"""The frozen final standings of a challenge, and the teams' method write-ups."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from challenges.markdown import MarkdownHtmlField
from datasets.models import private_storage


class FinalStandings(models.Model):
    """An immutable snapshot of every task and track board on the private split at the end.

    ``canonical`` is the exact text that was hashed (``standings.core.canonical_json``);
    pages and the API read it back, so what they show is what ``sha256`` covers. It is
    published at the reveal of the private leaderboard (organizers see it at once); until
    then the public reads ``public_canonical``, the same boards on the public split at the
    end, next to the digest of the sealed private snapshot.
    """

    challenge = models.OneToOneField(
        "challenges.Challenge", on_delete=models.PROTECT, related_name="final_standings"
    )
    frozen_at = models.DateTimeField()
    sha256 = models.CharField(max_length=64)
    canonical = models.TextField(editable=False)
    # Empty for snapshots frozen before the public view existed: computed when read.
    public_canonical = models.TextField(editable=False, blank=True, default="")

    class Meta:
        verbose_name_plural = "final standings"

    def __str__(self) -> str:
        return f"Final standings of {self.challenge} ({self.sha256[:12]})"


def writeup_pdf_path(instance: MethodWriteup, filename: str) -> str:
    return f"writeups/{instance.team.challenge.slug}/{instance.team_id}/method.pdf"


class MethodWriteup(models.Model):
    """A team's description of its method, linked to its final submissions across tasks."""

    team = models.OneToOneField(
        "challenges.Team", on_delete=models.CASCADE, related_name="writeup"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown")
    body_html = MarkdownHtmlField(source="body")
    pdf = models.FileField(
        upload_to=writeup_pdf_path, storage=private_storage, max_length=300, blank=True
    )
    submissions = models.ManyToManyField("scoring.Submission", related_name="writeups", blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.team}: {self.title}"
