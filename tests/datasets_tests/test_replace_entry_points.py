"""The thin entry points of a new data version: the console's form on a task, and
``manage.py replace_task_bundle`` run as an organizer would (a subprocess on the test
database)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from challenges.models import AuditEvent
from datasets.models import Task, TaskVersion, TaskVersionUpload
from datasets.version_uploads import task_version_check
from testkit.bundles import write_classification_bundle, zip_bundle
from testkit.demo_data import data_dir_files
from tests.datasets_tests.factories import imported_task
from tests.support.celery_worker import run_manage


def upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), "application/zip")


def new_zip(tmp_path: Path, name: str = "v2", **overrides) -> Path:
    folder = write_classification_bundle(tmp_path / name, **overrides)
    return zip_bundle(folder, tmp_path / f"{name}.zip")


@pytest.fixture
def admin_client_(client: Client, organizer) -> Client:
    client.force_login(organizer)
    return client


@pytest.mark.django_db
def test_the_task_page_in_the_console_has_the_replace_button(admin_client_, tmp_path):
    task = imported_task(tmp_path)
    html = admin_client_.get(f"/admin/datasets/task/{task.pk}/change/").content.decode()
    url = f"/admin/datasets/task/{task.pk}/replace/"
    assert f'href="{url}"' in html
    assert "Replace the data with a new bundle (.zip)" in html
    assert "v1 · " in html  # the versions list


@pytest.mark.django_db
def test_the_console_form_lists_every_problem_and_changes_nothing(admin_client_, tmp_path):
    task = imported_task(tmp_path)
    url = f"/admin/datasets/task/{task.pk}/replace/"
    bad = new_zip(
        tmp_path,
        "bad",
        task={"kind": "matching"},
        train=lambda df: df.assign(id=["c0001", *df["id"][1:]]),
    )
    response = admin_client_.post(url, {"bundle": upload(bad), "reason": "fix"})
    change = f"/admin/datasets/task/{task.pk}/change/"
    assert response.status_code == 302 and response["Location"] == change
    # The check runs in a worker (issue 51); the task's page shows its outcome.
    assert task_version_check(upload_pk=TaskVersionUpload.objects.get().pk) == "refused"
    html = admin_client_.get(change).content.decode()
    assert 'data-status="refused"' in html and "The data was not replaced (" in html
    assert html.count("<li>", html.index("bundle-problems")) >= 2
    no_reason = admin_client_.post(url, {"bundle": upload(new_zip(tmp_path)), "reason": ""})
    assert "This field is required." in no_reason.content.decode()
    task.refresh_from_db()
    assert task.data_version == 1 and TaskVersion.objects.filter(task=task).count() == 1
    assert not AuditEvent.objects.filter(action="task.replace").exists()


@pytest.mark.django_db
def test_the_console_form_replaces_the_data(admin_client_, tmp_path, organizer):
    task = imported_task(tmp_path)
    url = f"/admin/datasets/task/{task.pk}/replace/"
    response = admin_client_.post(
        url, {"bundle": upload(new_zip(tmp_path, rows=80)), "reason": "more rows"}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"/admin/datasets/task/{task.pk}/change/"
    assert "a worker checks the bundle as an import is checked" in response.content.decode()
    assert task_version_check(upload_pk=TaskVersionUpload.objects.get().pk) == "accepted"
    html = admin_client_.get(f"/admin/datasets/task/{task.pk}/change/").content.decode()
    assert "data version 2 replaces version 1 (80 train and 40 test rows)" in html
    assert "The AutoGluon baseline is not re-run automatically" in html
    task.refresh_from_db()
    assert task.data_version == 2 and task.test_rows == 40
    event = AuditEvent.objects.get(action="task.replace")
    assert (event.reason, event.actor) == ("more rows", organizer)


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["console", "owner"])
def test_an_oversized_bundle_is_refused_on_both_replace_pages(
    admin_client_, tmp_path, settings, page
):
    """Hostile sizes: a file over the cap is dropped while reading (the typed reason kept),
    and a body declaring more than the cap is refused unread; nothing changes either way."""
    task = imported_task(tmp_path)
    url = {
        "console": f"/admin/datasets/task/{task.pk}/replace/",
        "owner": f"/tasks/{task.slug}/manage/data/",
    }[page]
    source = new_zip(tmp_path)
    settings.BUNDLE_MAX_BYTES = source.stat().st_size - 1
    before = data_dir_files()
    dropped = admin_client_.post(url, {"bundle": upload(source), "reason": "fix labels"})
    assert dropped.status_code == 200
    assert "The bundle is larger than the limit of" in dropped.content.decode()
    assert dropped.context["form"].initial["reason"] == "fix labels"
    big = tmp_path / "big.zip"
    big.write_bytes(os.urandom(200_000))
    settings.BUNDLE_MAX_BYTES = 10_000
    unread = admin_client_.post(url, {"bundle": upload(big), "reason": "fix labels"})
    assert "(this one is" in unread.content.decode()
    assert unread.context["form"].initial == {}  # the body was never parsed
    task.refresh_from_db()
    assert task.data_version == 1 and data_dir_files() == before
    assert not AuditEvent.objects.filter(action="task.replace").exists()


def run_replace(*args: str) -> subprocess.CompletedProcess:
    return run_manage("replace_task_bundle", *args)


@pytest.mark.django_db(transaction=True)
def test_the_command_lists_every_problem_on_stderr_and_exits_1(tmp_path: Path) -> None:
    task = imported_task(tmp_path)
    bad = new_zip(
        tmp_path, "broken", task={"kind": "matching"}, test=lambda df: df.assign(label="cat")
    )
    before = data_dir_files()

    result = run_replace(task.slug, str(bad), "--reason", "fix")

    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert f"broken.zip did not replace the data of '{task.slug}'" in lines[0]
    problems = [line for line in lines if line.startswith("- ")]
    assert len(problems) >= 2
    assert any("test.csv must not contain a 'label' column" in p for p in problems)
    assert data_dir_files() == before
    assert Task.objects.get(pk=task.pk).data_version == 1


@pytest.mark.django_db(transaction=True)
def test_the_command_replaces_and_says_what_happens_next(tmp_path: Path) -> None:
    task = imported_task(tmp_path)
    result = run_replace(task.slug, str(new_zip(tmp_path, rows=80)), "--reason", "more rows")
    assert result.returncode == 0, result.stderr
    assert "data version 2 replaces version 1 (80 train and 40 test rows)" in result.stdout
    assert "not re-run automatically" in result.stdout
    task.refresh_from_db()
    assert task.data_version == 2
    assert AuditEvent.objects.get(action="task.replace").reason == "more rows"
    missing = run_replace(task.slug, str(new_zip(tmp_path, "v3")), "--reason", " ")
    assert missing.returncode == 1 and "a reason is required" in missing.stderr
