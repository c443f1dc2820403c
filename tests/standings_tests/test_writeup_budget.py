"""A method write-up's PDF within the team's upload budget (issue 51,
``challenges.upload_budget``): past the team's rate (shared with every other kind of
upload) the write-up page answers 429 with ``Retry-After``, at the storage quota 413, and
nothing is stored; the stored PDF counts on its bytes, and replacing it counts the new one
only. Saving the text alone counts on the rate too, within a size cap (issue 66)."""

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
    assert edit(client, w["mine"]).status_code == 429  # a text save counts too (issue 66)


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


def test_the_4th_text_save_within_a_minute_at_a_rate_of_3_is_refused(w, settings):
    """Issue 66: write-up text saves were accepted while the team's rate was used up."""
    settings.TEAM_UPLOAD_RATE = "3/minute"
    client = Client()
    client.force_login(w["user"])
    for n in range(3):
        answer = client.post(
            f"/teams/{w['mine'].pk}/method/edit/", {"title": "Method", "body": f"Take {n}."}
        )
        assert answer.status_code == 302, n
    refused = client.post(
        f"/teams/{w['mine'].pk}/method/edit/", {"title": "Method", "body": "Take 3."}
    )
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many uploads: your team sent 3 in the last minute" in refused.content.decode()
    assert MethodWriteup.objects.get(team=w["mine"]).body == "Take 2."


def test_a_text_over_the_cap_is_refused_before_it_is_rendered_or_counted(w, settings):
    settings.TEAM_TEXT_MAX_CHARS = 1000
    settings.TEAM_UPLOAD_RATE = "1/minute"
    with pytest.raises(StandingsError) as caught:
        save(w, body="*a* " * 300)
    assert caught.value.code == "text_too_long" and caught.value.http_status == 413
    assert "1,201 characters long" in caught.value.message  # the title too
    assert not MethodWriteup.objects.filter(team=w["mine"]).exists()
    save(w, body="Within the cap.")  # the refused one took nothing of the rate
    stored = MethodWriteup.objects.get(team=w["mine"])
    assert "<p>Within the cap.</p>" in stored.body_html  # rendered once, at the save
