"""The organizer's bundle upload in the admin console."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from challenges.models import Challenge
from datasets.models import Task
from testkit.bundles import write_classification_bundle, write_zip, zip_bundle
from testkit.demo_data import data_dir_files
from tests.datasets_tests.factories import TrackFactory, imported_task

pytestmark = pytest.mark.django_db

URL = "/admin/datasets/task/import/"


@pytest.fixture
def admin_client_(client: Client, organizer) -> Client:
    client.force_login(organizer)
    return client


def upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), "application/zip")


def valid_zip(tmp_path: Path, **overrides) -> Path:
    folder = write_classification_bundle(tmp_path / "bundle", **overrides)
    return zip_bundle(folder, tmp_path / "birds.zip")


def test_the_task_list_has_an_import_button(admin_client_: Client) -> None:
    html = admin_client_.get("/admin/datasets/task/").content.decode()
    assert f'href="{URL}"' in html and "Import a task bundle" in html


def test_the_form_is_for_organizers_only(client: Client, participant) -> None:
    assert client.get(URL).status_code == 302
    client.force_login(participant)  # not staff: the admin sends them to its login
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_a_valid_zip_with_new_slugs_is_imported(admin_client_: Client, tmp_path: Path) -> None:
    response = admin_client_.post(
        URL,
        {
            "challenge_slug": "spring-cup",
            "challenge_title": "Spring Cup",
            "track_slug": "kway",
            "track_title": "K-way",
            "bundle": upload(valid_zip(tmp_path)),
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/admin/datasets/task/"
    html = response.content.decode()
    assert 'Imported the task <a href="/tasks/demo-classification/">Demo classification</a>' in html
    task = Task.objects.select_related("track__challenge").get()
    assert (task.track.title, task.track.challenge.title) == ("K-way", "Spring Cup")


def test_an_existing_track_can_be_chosen(admin_client_: Client, tmp_path: Path) -> None:
    track = TrackFactory(slug="kway")
    response = admin_client_.post(URL, {"track": track.pk, "bundle": upload(valid_zip(tmp_path))})
    assert response.status_code == 302
    assert Task.objects.get().track == track


def test_every_problem_of_a_broken_bundle_is_shown(admin_client_: Client, tmp_path: Path) -> None:
    source = valid_zip(
        tmp_path,
        task={"kind": "forecasting"},
        train=lambda df: df.assign(id=["c0001", *df["id"][1:]]),
        test=lambda df: df.assign(label="cat"),
    )
    before = data_dir_files()
    response = admin_client_.post(
        URL, {"challenge_slug": "cup", "track_slug": "kway", "bundle": upload(source)}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "The bundle was not imported: 3 problems." in html
    assert html.count("<li>", html.index("bundle-problems")) >= 3
    assert "kind must be one of classification, matching, not &#x27;forecasting&#x27;" in html
    assert "train.csv: ids appear more than once" in html
    assert "test.csv must not contain a &#x27;label&#x27; column" in html
    assert not Task.objects.exists() and not Challenge.objects.exists()
    assert data_dir_files() == before


def test_a_hostile_zip_is_refused_on_the_page(admin_client_: Client, tmp_path: Path) -> None:
    source = write_zip(tmp_path / "evil.zip", {"../../evil.txt": "x", "task.yaml": "slug: a\n"})
    response = admin_client_.post(
        URL, {"challenge_slug": "cup", "track_slug": "kway", "bundle": upload(source)}
    )
    assert response.status_code == 200
    assert "evil.zip: refused 1 member with &#x27;..&#x27; in the path" in response.content.decode()


def test_the_form_asks_for_a_track_and_a_zip(admin_client_: Client, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    response = admin_client_.post(URL, {"bundle": upload(text)})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["bundle"] == [
        "notes.txt is not a .zip file; zip the bundle folder and upload the zip."
    ]
    assert form.errors["challenge_slug"] == ["Choose an existing track or give both slugs."]
    assert form.errors["track_slug"] == ["Choose an existing track or give both slugs."]


def test_a_chosen_track_of_another_challenge_is_a_form_error(
    admin_client_: Client, tmp_path: Path
) -> None:
    track = TrackFactory(slug="kway")
    response = admin_client_.post(
        URL,
        {"track": track.pk, "challenge_slug": "elsewhere", "bundle": upload(valid_zip(tmp_path))},
    )
    assert response.status_code == 200
    assert "belongs to the challenge" in response.context["form"].errors["challenge_slug"][0]
    assert not Task.objects.exists()


def test_an_upload_over_the_cap_is_refused_while_reading(
    admin_client_: Client, tmp_path: Path, settings
) -> None:
    source = valid_zip(tmp_path)
    settings.BUNDLE_MAX_BYTES = source.stat().st_size - 1
    before = data_dir_files()
    response = admin_client_.post(
        URL, {"challenge_slug": "cup", "track_slug": "kway", "bundle": upload(source)}
    )
    assert response.status_code == 200
    assert "The bundle is larger than the limit of" in response.content.decode()
    assert response.context["form"].initial["challenge_slug"] == "cup"  # typed values kept
    assert not Task.objects.exists() and data_dir_files() == before


def test_a_request_declaring_too_many_bytes_is_refused_unread(
    admin_client_: Client, tmp_path: Path, settings
) -> None:
    big = tmp_path / "big.zip"
    big.write_bytes(os.urandom(200_000))
    settings.BUNDLE_MAX_BYTES = 10_000
    response = admin_client_.post(
        URL, {"challenge_slug": "cup", "track_slug": "kway", "bundle": upload(big)}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "The bundle is larger than the limit of 9.8\xa0KB (this one is" in html
    assert response.context["form"].initial == {}  # the body was never parsed
    assert not Task.objects.exists()


def test_the_upload_keeps_csrf_protection(organizer, tmp_path: Path) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(organizer)
    response = client.post(
        URL, {"challenge_slug": "cup", "track_slug": "kway", "bundle": upload(valid_zip(tmp_path))}
    )
    assert response.status_code == 403
    assert not Task.objects.exists()


def test_add_task_leads_to_the_import_form(admin_client_: Client) -> None:
    response = admin_client_.get("/admin/datasets/task/add/")
    assert response.status_code == 302 and response["Location"] == URL


def test_the_change_form_keeps_the_bundle_fields_read_only(
    admin_client_: Client, tmp_path: Path
) -> None:
    task = imported_task(tmp_path)
    response = admin_client_.get(f"/admin/datasets/task/{task.pk}/change/")
    assert response.status_code == 200
    fields = response.context["adminform"].form.fields
    assert "title" in fields and "description" in fields
    assert not {"slug", "kind", "classes", "solution", "train_csv"} & set(fields)
    html = response.content.decode()
    assert "/media-not-served/" not in html  # no link to storage, only to the guarded views
    assert f'href="/tasks/{task.slug}/files/solution.parquet"' in html


def test_an_unexpected_error_is_a_message_not_a_500(
    admin_client_: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("bug in the core")

    monkeypatch.setattr("datasets.bundle_store.prepare_task", broken)
    response = admin_client_.post(
        URL, {"challenge_slug": "cup", "track_slug": "kway", "bundle": upload(valid_zip(tmp_path))}
    )
    assert response.status_code == 200
    assert "The import failed on an unexpected error" in response.content.decode()
    assert not Task.objects.exists()
