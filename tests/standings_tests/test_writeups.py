"""Method write-ups: members only, a real PDF of at most 10 MB, own scored submissions,
published when the challenge ends; hostile input changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from standings.models import MethodWriteup
from standings.services import StandingsError
from tests.challenges_tests.factories import UserFactory

from .writeups_helpers import PDF, save

pytestmark = pytest.mark.django_db







def test_writeup_links_own_scored_submissions_and_keeps_a_real_pdf(w):
    wu = save(w, submission_ids=[w["sub"].pk], pdf=SimpleUploadedFile("m.pdf", PDF))
    assert list(wu.submissions.all()) == [w["sub"]]
    with wu.pdf.open("rb") as fh:
        assert fh.read() == PDF
    save(w, title="M2", submission_ids=[], remove_pdf=True)
    wu.refresh_from_db()
    assert wu.title == "M2" and not wu.pdf and wu.submissions.count() == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pdf": SimpleUploadedFile("m.pdf", b"MZ\x90\x00 not a pdf")}, "not a PDF"),
        ({"pdf": SimpleUploadedFile("m.pdf", b"<html>%PDF-1.4")}, "not a PDF"),
        ({"pdf": SimpleUploadedFile("m.pdf", PDF + b"0" * (10 * 1024 * 1024))}, "limit is 10 MiB"),
        ({"title": "   "}, "title"),
        ({"submission_ids": [10**9]}, "not scored submissions of your team"),
    ],
)
def test_hostile_writeups_are_refused_and_change_nothing(w, kwargs, message):
    with pytest.raises(StandingsError, match=message):
        save(w, **kwargs)
    assert not MethodWriteup.objects.exists()


def test_foreign_or_failed_submissions_and_outsiders_are_refused(w):
    for pk in (w["foreign"].pk, w["failed"].pk):
        with pytest.raises(StandingsError, match="not scored submissions of your team"):
            save(w, submission_ids=[pk])
    with pytest.raises(StandingsError, match="Only the team's members"):
        save(w, user=UserFactory())
    assert not MethodWriteup.objects.exists()


def test_writeups_are_published_when_the_challenge_ends(w):
    save(
        w,
        title="Secret sauce",
        body="<img src=x onerror=alert(1)>**ok**",
        pdf=SimpleUploadedFile("m.pdf", PDF),
    )
    pk = w["mine"].pk
    outsider = Client()
    assert outsider.get(f"/teams/{pk}/method/").status_code == 404
    assert outsider.get(f"/teams/{pk}/method.pdf").status_code == 404
    member = Client()
    member.force_login(w["user"])
    page = member.get(f"/teams/{pk}/method/").content.decode()
    assert "Secret sauce" in page and "<strong>ok</strong>" in page and "onerror" not in page
    assert outsider.get(f"/teams/{pk}/method/edit/").status_code == 302  # login first
    stranger = Client()
    stranger.force_login(UserFactory())
    assert stranger.get(f"/teams/{pk}/method/edit/").status_code == 404
    challenge = w["challenge"]
    challenge.start = timezone.now() - timedelta(days=3)
    challenge.end = timezone.now() - timedelta(minutes=1)
    challenge.save()
    assert outsider.get(f"/teams/{pk}/method/").status_code == 200
    response = outsider.get(f"/teams/{pk}/method.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


def test_edit_form_refuses_a_fake_pdf_with_a_message(w):
    client = Client()
    client.force_login(w["user"])
    response = client.post(
        f"/teams/{w['mine'].pk}/method/edit/",
        {"title": "T", "body": "b", "pdf": SimpleUploadedFile("x.pdf", b"GIF89a")},
    )
    assert response.status_code == 400 and b"not a PDF" in response.content
    assert not MethodWriteup.objects.exists()


def test_the_team_page_links_a_writeup_only_where_there_is_one_to_read(w):
    """Every method link of the team page opens (the page linked "Method write-up" for every
    team, a 404 to an outsider before the end and an empty page when there was none)."""
    pk = w["mine"].pk
    outsider, member = Client(), Client()
    member.force_login(w["user"])

    def method_links(client) -> dict[str, int]:
        page = client.get(f"/teams/{pk}/")
        assert page.status_code == 200
        links = re.findall(rf'href="(/teams/{pk}/method[^"]*)"', page.content.decode())
        return {link: client.get(link).status_code for link in links}

    # no write-up: nothing for an outsider, the way to write one for a member
    assert method_links(outsider) == {}
    assert method_links(member) == {f"/teams/{pk}/method/edit/": 200}
    save(w, title="Secret sauce")
    # written, before the end: the team reads it; an outsider is told when, with no link
    assert method_links(member) == {f"/teams/{pk}/method/": 200, f"/teams/{pk}/method/edit/": 200}
    assert method_links(outsider) == {}
    page = outsider.get(f"/teams/{pk}/").content.decode()
    assert "published when the challenge ends" in page
    challenge = w["challenge"]
    challenge.start = timezone.now() - timedelta(days=3)
    challenge.end = timezone.now() - timedelta(minutes=1)
    challenge.save()
    assert method_links(outsider) == {f"/teams/{pk}/method/": 200}
    # after the end, a team that wrote nothing has no link either
    other = w["foreign"].team.pk
    assert "/method/" not in outsider.get(f"/teams/{other}/").content.decode()
