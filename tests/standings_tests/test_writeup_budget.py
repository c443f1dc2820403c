"""A method write-up's PDF within the team's upload budget (issue 51,
``challenges.upload_budget``): past the team's rate (shared with every other kind of
upload) the write-up page answers 429 with ``Retry-After``, at the storage quota 413, and
nothing is stored; the stored PDF counts on its bytes, and replacing it counts the new one
only. Saving the text alone is not an upload."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from challenges.upload_budget import team_storage_use
from standings.models import MethodWriteup
from standings.services import StandingsError
from tests.standings_tests.writeups_helpers import PDF, save

pytestmark = pytest.mark.django_db
KIB = 1024


def pdf(size: int) -> SimpleUploadedFile:
    return SimpleUploadedFile("m.pdf", PDF + b"0" * (size - len(PDF)), "application/pdf")


def edit(client: Client, team, **files):
    return client.post(
        f"/teams/{team.pk}/method/edit/", {"title": "Method", "body": "How.", **files}
    )


def private_files() -> set[Path]:
    root = Path(django_settings.PRIVATE_ROOT)
    return {p for p in root.rglob("*") if p.is_file()}


def test_past_the_team_s_rate_a_pdf_is_refused_with_429(w, settings):
    settings.TEAM_UPLOAD_RATE = "2/hour"
    client = Client()
    client.force_login(w["user"])
    assert edit(client, w["mine"], pdf=pdf(2 * KIB)).status_code == 302
    assert edit(client, w["mine"], pdf=pdf(3 * KIB)).status_code == 302
    before = private_files()
    refused = edit(client, w["mine"], pdf=pdf(4 * KIB))
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many uploads: your team sent 2 in the last hour" in refused.content.decode()
    assert private_files() == before
    assert MethodWriteup.objects.get(team=w["mine"]).pdf.size == 3 * KIB
    assert edit(client, w["mine"]).status_code == 302  # the text alone is not an upload


def test_at_the_storage_quota_a_pdf_is_refused_with_413(w, settings):
    settings.TEAM_STORAGE_QUOTA_MB = 1
    client = Client()
    client.force_login(w["user"])
    before = private_files()
    refused = edit(client, w["mine"], pdf=pdf(1100 * KIB))
    assert refused.status_code == 413
    assert "storage quota is 1 MiB" in refused.content.decode()
    assert private_files() == before and not MethodWriteup.objects.filter(team=w["mine"]).exists()

    assert edit(client, w["mine"], pdf=pdf(700 * KIB)).status_code == 302
    assert team_storage_use(team=w["mine"]).parts["write-up PDFs"] == (1, 700 * KIB)
    # Replacing it frees the old one: 700 KiB more would not fit beside it, but instead of it.
    assert edit(client, w["mine"], pdf=pdf(700 * KIB)).status_code == 302
    assert team_storage_use(team=w["mine"]).total == 700 * KIB
    # The quota holds in the service too (any caller), with the team's other uploads.
    with pytest.raises(StandingsError) as refused_again:
        save(w, pdf=pdf(1100 * KIB))
    assert refused_again.value.http_status == 413
    assert refused_again.value.code == "storage_quota"
