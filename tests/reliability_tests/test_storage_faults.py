"""Storage fails while an upload is being stored (disk full, S3 down) in the web process.

The participant gets a clear 503 (API) or message (form); nothing is created, no file is
left behind, and the day's quota is untouched: with a limit of one per day, the next upload
after storage recovers is accepted.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from scoring.models import Submission
from tests.reliability_tests.setup_helpers import make_setup
from tests.support.storage_faults import private_storage_class

pytestmark = pytest.mark.django_db


def stored_files() -> set[Path]:
    roots = [Path(settings.MEDIA_ROOT), Path(settings.PRIVATE_ROOT)]
    return {p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()}


def refuse_before_writing(self, name, content):
    raise OSError(errno.EIO, "Input/output error")


def fail_midway(real_save):
    """Write the first chunk of the file, then fail like a full disk."""

    def save(self, name, content):
        class Truncated:
            def __init__(self, wrapped) -> None:
                self.wrapped = wrapped

            def __getattr__(self, attr):
                return getattr(self.wrapped, attr)

            def chunks(self, chunk_size=None):
                yield next(iter(self.wrapped.chunks(chunk_size=64)))
                raise OSError(errno.ENOSPC, "No space left on device")

        return real_save(self, name, Truncated(content))

    return save


@pytest.fixture
def setup(tmp_path):
    return make_setup(tmp_path, daily_submission_limit=1)


@pytest.mark.parametrize("fault", ["before writing", "half-way through the file"])
def test_a_storage_failure_during_an_api_upload_is_a_clear_503_that_costs_nothing(
    setup, monkeypatch, fault
):
    private = private_storage_class()
    broken = refuse_before_writing if fault == "before writing" else fail_midway(private._save)
    before = stored_files()
    with monkeypatch.context() as patch:
        patch.setattr(private, "_save", broken)
        response = setup.upload()
    assert response.status_code == 503, response.content
    body = response.json()
    assert body["code"] == "storage_unavailable"
    assert "nothing was submitted" in body["detail"] and "try again" in body["detail"]
    assert not Submission.objects.exists()
    assert stored_files() == before, "a file was left behind"

    again = setup.upload()  # storage is back: the day's only slot is still free
    assert again.status_code == 201, again.content
    assert setup.upload().status_code == 429  # and now it is used


def test_a_storage_failure_during_a_form_upload_says_so_and_costs_nothing(setup, monkeypatch):
    client = Client()
    client.force_login(setup.user)
    private = private_storage_class()
    before = stored_files()
    with monkeypatch.context() as patch:
        patch.setattr(private, "_save", refuse_before_writing)
        page = client.post(
            f"/tasks/{setup.task.slug}/submit/",
            {"file": SimpleUploadedFile("p.csv", setup.predictions)},
            follow=True,
        )
    assert page.status_code == 200
    assert "could not be stored right now" in page.content.decode()
    assert not Submission.objects.exists()
    assert stored_files() == before
    assert setup.upload().status_code == 201


def test_every_storage_fault_in_the_tests_patches_the_storage_s_class() -> None:
    """An instance patch undone by monkeypatch leaves the old bound method on the instance
    and hides later tests' class patches (tests/support/storage_faults.py): a storage fault is
    made through ``private_storage_class()`` only."""
    patched = re.compile(r"setattr\(\s*([^,]+?),\s*\"_save\"")
    allowed = {"private_storage_class()", "storage_class", "private"}
    found = {}
    for path in Path(__file__).resolve().parents[1].rglob("*.py"):
        for target in patched.findall(path.read_text(encoding="utf-8")):
            found.setdefault(target.strip(), []).append(path.name)
    assert found, "the pattern no longer finds the tests' storage faults"
    assert set(found) <= allowed, {t: f for t, f in found.items() if t not in allowed}
