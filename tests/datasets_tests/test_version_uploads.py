"""A new data version uploaded by a task's owners (issue 51): stored by the web process,
checked by a worker (``datasets.version_uploads``), within the team's upload budget, and old
versions pruned.

In-process: the API and the page answer 202 / a redirect with the upload's status, the
check (the job's service, as a worker runs it) accepts a valid bundle as the next version or
refuses an invalid one with every problem and changes nothing; a task owner's upload is
refused over the team's rate (429), the task's daily limit (429) and the storage quota
(413, also on what the version would store), before its body is read when it announces its
size, and stores and queues nothing then. A real worker runs one check in
``test_a_worker_checks_the_upload``.
"""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from billiard.exceptions import SoftTimeLimitExceeded
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from challenges.models import AuditEvent
from challenges.upload_budget import team_storage_use
from datasets.job_types import VERSION_CHECK
from datasets.models import Task, TaskVersion, TaskVersionUpload
from datasets.version_uploads import task_version_check, task_version_uploads_sweep
from jobs import lifecycle
from testkit.bundles import write_classification_bundle, zip_bundle
from testkit.demo_data import data_dir_files
from tests.scoring_tests.factories import (
    ChallengeFactory,
    TeamFactory,
    UserFactory,
    add_member,
    api_client_for,
    imported_task,
)
from tests.scoring_tests.upload_admission_helpers import UntouchableBody
from tests.support.storage_faults import private_storage_class

pytestmark = pytest.mark.django_db
MIB = 1024 * 1024


@pytest.fixture
def task(tmp_path: Path) -> Task:
    return imported_task(tmp_path / "import", challenge=ChallengeFactory())


@pytest.fixture
def owner(task: Task):
    team = TeamFactory(challenge=task.track.challenge, name="Owners")
    user = UserFactory(username="owner")
    add_member(team, user)
    task.owner_team = team
    task.save(update_fields=["owner_team"])
    return user


@pytest.fixture
def published(monkeypatch) -> list[tuple[str, dict]]:
    """The messages sent after commit (the broker is not this module's subject)."""
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        lifecycle, "publish", lambda *, task_name, **kw: sent.append((task_name, kw)) or True
    )
    return sent


@pytest.fixture
def check(django_capture_on_commit_callbacks, published):
    """Run an upload's check as a worker does, its commit's callbacks (the bundle's deletion,
    the messages) included."""

    def run(upload_pk: int) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            return task_version_check(upload_pk=upload_pk)

    return run


@pytest.fixture
def bundles(tmp_path: Path) -> Path:
    folder = tmp_path / "bundles"
    folder.mkdir()
    return folder


def new_version(folder: Path, task: Task, name: str = "v2", *, meta=None, **overrides) -> Path:
    meta = {"slug": task.slug, **(meta or {})}
    bundle = write_classification_bundle(folder / name, task=meta, **overrides)
    return zip_bundle(bundle, folder / f"{name}.zip")


def post_version(api, task: Task, path: Path, reason: str = "more rows"):
    with open(path, "rb") as fh:
        return api.post(
            f"/api/v1/tasks/{task.slug}/versions/",
            {"file": fh, "reason": reason},
            format="multipart",
        )


def stored(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), "application/zip")


def test_an_owner_s_upload_is_queued_then_checked_into_the_next_version(
    task, owner, bundles, check
):
    api = api_client_for(owner)
    answer = post_version(api, task, new_version(bundles, task, rows=80))
    assert answer.status_code == 202, answer.json()
    body = answer.json()
    assert (body["status"], body["version"], body["problems"]) == ("queued", None, [])
    assert answer["Location"] == body["url"] and body["bundle_name"] == "v2.zip"
    upload = TaskVersionUpload.objects.get(pk=body["id"])
    assert upload.bundle and upload.team == task.owner_team
    task.refresh_from_db()
    assert task.data_version == 1  # nothing changes in the web process

    assert check(upload.pk) == "accepted"
    polled = api.get(body["url"]).json()
    assert (polled["status"], polled["version"]) == ("accepted", 2)
    assert "data version 2 replaces version 1 (80 train and 40 test rows)" in polled["message"]
    task.refresh_from_db()
    version = TaskVersion.objects.get(task=task, number=2)
    assert task.data_version == 2 and version.created_by == owner and version.note == "more rows"
    assert version.team == task.owner_team
    files = [getattr(task, field) for field in version.files]
    assert version.stored_bytes == sum(f.storage.size(f.name) for f in files)
    bundle = Path(upload.bundle.storage.path(upload.bundle.name))
    upload.refresh_from_db()
    assert not upload.bundle and not bundle.exists()  # the bundle went with the check
    assert AuditEvent.objects.get(action="task.replace").actor == owner
    # The version now counts against the team's quota, the bundle no longer does.
    assert team_storage_use(team=task.owner_team).parts["task data versions"] == (
        1,
        version.stored_bytes,
    )
    assert check(upload.pk) == "skipped"  # a redelivered message


def test_an_invalid_bundle_is_refused_with_every_problem_and_changes_nothing(
    task, owner, bundles, check
):
    api = api_client_for(owner)
    bad = new_version(
        bundles,
        task,
        meta={"kind": "matching"},
        train=lambda df: df.drop(columns="label"),
    )
    before = data_dir_files()
    answer = post_version(api, task, bad)
    assert answer.status_code == 202
    assert check(answer.json()["id"]) == "refused"
    polled = api.get(answer.json()["url"]).json()
    assert polled["status"] == "refused" and len(polled["problems"]) >= 2
    assert polled["message"].startswith("The data was not replaced (")
    task.refresh_from_db()
    assert task.data_version == 1 and TaskVersion.objects.filter(task=task).count() == 1
    assert not AuditEvent.objects.filter(action="task.replace").exists()
    assert data_dir_files() == before  # the stored bundle went with the refusal
    page = Client()
    page.force_login(owner)
    html = page.get(f"/tasks/{task.slug}/manage/data/uploads/{polled['id']}/").content.decode()
    assert "The data was not replaced: " in html and "bundle-problems" in html


def test_a_zip_slip_archive_is_refused_by_the_check(task, owner, bundles, check):
    folder = write_classification_bundle(bundles / "b", task={"slug": task.slug})
    path = bundles / "slip.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for member in folder.iterdir():
            archive.writestr(member.name, member.read_bytes())
        archive.writestr("../../evil.txt", b"owned")
    answer = post_version(api_client_for(owner), task, path)
    assert check(answer.json()["id"]) == "refused"
    upload = TaskVersionUpload.objects.get(pk=answer.json()["id"])
    assert any("'..' in the path" in p for p in upload.problems)


def test_a_missing_reason_is_refused_at_once_and_nothing_is_stored(task, owner, bundles):
    before = data_dir_files()
    answer = post_version(api_client_for(owner), task, new_version(bundles, task), reason="")
    assert answer.status_code == 400 and answer.json()["code"] == "bundle_invalid"
    assert "a reason is required" in answer.json()["problems"][0]
    assert not TaskVersionUpload.objects.exists() and data_dir_files() == before


def test_the_page_queues_the_upload_and_shows_its_status(task, owner, bundles, check):
    client = Client()
    client.force_login(owner)
    page = f"/tasks/{task.slug}/manage/data/"
    with open(new_version(bundles, task, rows=80), "rb") as fh:
        response = client.post(page, {"bundle": fh, "reason": "80 rows"})
    upload = TaskVersionUpload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/tasks/{task.slug}/manage/data/uploads/{upload.pk}/"
    shown = client.get(response["Location"]).content.decode()
    assert 'data-live-pending="1"' in shown and ">queued<" in shown
    assert f"/api/v1/tasks/{task.slug}/versions/uploads/{upload.pk}/" in shown
    check(upload.pk)
    shown = client.get(response["Location"]).content.decode()
    assert ">accepted<" in shown and "data version 2 replaces version 1" in shown
    assert "data-live-pending" not in shown
    listed = client.get(page).content.decode()
    assert f'data-upload="{upload.pk}" data-status="accepted"' in listed
    manage = client.get(f"/tasks/{task.slug}/manage/").content.decode()
    assert f'data-upload="{upload.pk}"' in manage


def test_an_owner_who_no_longer_manages_the_task_is_refused_by_the_check(
    task, owner, bundles, check
):
    answer = post_version(api_client_for(owner), task, new_version(bundles, task))
    Task.objects.filter(pk=task.pk).update(owner_team=None)
    assert check(answer.json()["id"]) == "refused"
    upload = TaskVersionUpload.objects.get()
    assert upload.problems == [f"owner no longer manages the task '{task.slug}'."]
    assert Task.objects.get(pk=task.pk).data_version == 1


def test_a_check_whose_delivery_lost_the_job_makes_no_version(
    task, owner, bundles, monkeypatch, check
):
    answer = post_version(api_client_for(owner), task, new_version(bundles, task))
    upload_pk = answer.json()["id"]
    real = lifecycle.job_transition

    def taken_over(*, job_type, **kwargs):  # another delivery took the job while this one ran
        if job_type is VERSION_CHECK and kwargs.get("status") == "accepted":
            TaskVersionUpload.objects.filter(pk=upload_pk).update(claim_token="another")
        return real(job_type=job_type, **kwargs)

    monkeypatch.setattr(lifecycle, "job_transition", taken_over)
    assert check(upload_pk) == "superseded"
    task.refresh_from_db()
    assert task.data_version == 1 and TaskVersion.objects.filter(task=task).count() == 1


# --- the team's budget ---------------------------------------------------------------------------


def test_over_the_team_s_rate_the_api_and_the_page_answer_429_and_store_nothing(
    task, owner, bundles, settings
):
    settings.TEAM_UPLOAD_RATE = "2/hour"
    settings.TASK_VERSION_UPLOADS_PER_DAY = 10
    api = api_client_for(owner)
    path = new_version(bundles, task)
    assert [post_version(api, task, path).status_code for _ in range(2)] == [202, 202]
    before = data_dir_files()
    refused = post_version(api, task, path)
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert int(refused["Retry-After"]) > 0 and refused.json()["retry_after"]
    assert "Too many uploads: your team sent 2 in the last hour" in refused.json()["detail"]
    client = Client()
    client.force_login(owner)
    with open(path, "rb") as fh:
        page = client.post(f"/tasks/{task.slug}/manage/data/", {"bundle": fh, "reason": "x"})
    assert page.status_code == 429 and "Too many uploads" in page.content.decode()
    assert int(page["Retry-After"]) > 0
    assert TaskVersionUpload.objects.count() == 2 and data_dir_files() == before


def test_the_task_s_daily_limit_of_versions_answers_429(task, owner, bundles, settings):
    settings.TASK_VERSION_UPLOADS_PER_DAY = 1
    api = api_client_for(owner)
    path = new_version(bundles, task)
    assert post_version(api, task, path).status_code == 202
    refused = post_version(api, task, path)
    assert refused.status_code == 429 and refused.json()["code"] == "version_limit"
    assert "today's 1 data version upload of" in refused.json()["detail"]
    # A refused check gives its place back; an organizer has no daily limit.
    first = TaskVersionUpload.objects.get()
    TaskVersionUpload.objects.filter(pk=first.pk).update(status="refused")
    assert post_version(api, task, path).status_code == 202
    organizer = UserFactory(username="org", is_staff=True, is_superuser=True)
    assert post_version(api_client_for(organizer), task, path).status_code == 202


def test_at_the_storage_quota_the_api_and_the_page_answer_413_and_store_nothing(
    task, owner, bundles, settings
):
    settings.TEAM_STORAGE_QUOTA_MB = 1
    path = new_version(bundles, task)
    padded = bundles / "padded.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(padded, "w") as out:
        for info in source.infolist():
            out.writestr(info, source.read(info))
        out.writestr("padding.bin", io.BytesIO(bytes(range(256)) * 4500).getvalue())
    assert padded.stat().st_size > MIB
    before = data_dir_files()
    refused = post_version(api_client_for(owner), task, padded)
    assert refused.status_code == 413 and refused.json()["code"] == "storage_quota"
    assert "storage quota is 1 MiB" in refused.json()["detail"]
    client = Client()
    client.force_login(owner)
    with open(padded, "rb") as fh:
        page = client.post(f"/tasks/{task.slug}/manage/data/", {"bundle": fh, "reason": "x"})
    assert page.status_code == 413 and "storage quota is 1 MiB" in page.content.decode()
    assert not TaskVersionUpload.objects.exists() and data_dir_files() == before


def test_the_quota_is_checked_again_on_what_the_version_stores(
    task, owner, bundles, settings, check
):
    """A small bundle standardized into larger files (CSV and Parquet, the key table) is
    refused by the check when they would pass the quota; nothing is stored."""
    path = new_version(bundles, task, rows=15000)  # a 0.2 MB zip, 1.9 MB stored
    settings.TEAM_STORAGE_QUOTA_MB = 1
    answer = post_version(api_client_for(owner), task, path)
    assert answer.status_code == 202, answer.json()
    before = data_dir_files()
    assert check(answer.json()["id"]) == "refused"
    upload = TaskVersionUpload.objects.get()
    assert "storage quota is 1 MiB" in upload.problems[0]
    assert Task.objects.get(pk=task.pk).data_version == 1
    assert data_dir_files() <= before  # nothing stored; the bundle went


@pytest.mark.parametrize("caller", ["token", "session"])
def test_a_body_announcing_more_than_the_quota_left_is_refused_unread(
    task, owner, settings, caller
):
    settings.TEAM_STORAGE_QUOTA_MB = 1
    body = UntouchableBody()
    client = Client(enforce_csrf_checks=True)
    extra = {"CONTENT_LENGTH": str(3 * MIB), "wsgi.input": body}
    if caller == "token":
        extra["HTTP_AUTHORIZATION"] = api_client_for(owner)._credentials["HTTP_AUTHORIZATION"]
    else:
        client.force_login(owner)
    url = f"/api/v1/tasks/{task.slug}/versions/"
    response = client.generic(
        "POST", url, b"", content_type="multipart/form-data; boundary=xyz", **extra
    )
    assert response.status_code == 413 and response.json()["code"] == "storage_quota"
    assert body.reads == 0
    if caller == "session":
        page = client.generic(
            "POST",
            f"/tasks/{task.slug}/manage/data/",
            b"",
            content_type="multipart/form-data; boundary=xyz",
            **{"CONTENT_LENGTH": str(3 * MIB), "wsgi.input": UntouchableBody()},
        )
        assert page.status_code == 413 and "storage quota is 1 MiB" in page.content.decode()


def test_an_organizer_s_upload_is_not_charged(task, bundles, settings):
    settings.TEAM_UPLOAD_RATE = "1/hour"
    settings.TEAM_STORAGE_QUOTA_MB = 1
    organizer = UserFactory(username="org", is_staff=True, is_superuser=True)
    api = api_client_for(organizer)
    path = new_version(bundles, task)
    answers = [post_version(api, task, path) for _ in range(3)]
    assert [a.status_code for a in answers] == [202] * 3
    assert set(TaskVersionUpload.objects.values_list("team", flat=True)) == {None}


# --- pruning -------------------------------------------------------------------------------------


def test_versions_beyond_the_kept_number_lose_their_files_and_keep_their_record(
    task, owner, bundles, settings, check
):
    settings.TASK_DATA_VERSIONS_KEPT = 2
    settings.TASK_VERSION_UPLOADS_PER_DAY = 10
    api = api_client_for(owner)
    first = TaskVersion.objects.get(task=task, number=1)
    first_files = [Path(Task._meta.get_field(f).storage.path(n)) for f, n in first.files.items()]
    assert all(p.exists() for p in first_files)
    for rows in (70, 80):
        answer = post_version(api, task, new_version(bundles, task, f"r{rows}", rows=rows))
        assert check(answer.json()["id"]) == "accepted"
    first.refresh_from_db()
    assert first.pruned_at is not None and first.files == {} and first.stored_bytes == 0
    assert not any(p.exists() for p in first_files)  # deleted once the version committed
    kept = TaskVersion.objects.filter(task=task, pruned_at__isnull=True)
    assert sorted(kept.values_list("number", flat=True)) == [2, 3]
    listed = api.get(f"/api/v1/tasks/{task.slug}/versions/").json()
    assert [(v["number"], v["pruned_at"] is not None) for v in listed] == [
        (3, False),
        (2, False),
        (1, True),
    ]
    assert api.get(f"/api/v1/tasks/{task.slug}/files/train.csv?version=1").status_code == 404
    assert api.get(f"/api/v1/tasks/{task.slug}/files/train.csv?version=2").status_code == 200


def test_a_storage_failure_is_a_503_and_changes_nothing(task, owner, bundles, monkeypatch):
    """A full disk (or an object store away) while the zip is stored: the uploader is told
    to try again (503, not a traceback), and no row or file is left. (The failure is
    simulated: a full disk is not something a test should make of the host's.)"""

    def full(self, name, content):
        path = Path(self.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a zip")  # what a write cut short leaves
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(private_storage_class(), "_save", full)
    before = data_dir_files()
    answer = post_version(api_client_for(owner), task, new_version(bundles, task))
    assert answer.status_code == 503 and answer.json()["code"] == "storage_unavailable"
    assert not TaskVersionUpload.objects.exists() and data_dir_files() == before


def test_a_check_past_its_time_limit_is_refused_and_changes_nothing(
    task, owner, bundles, monkeypatch, check
):
    """Celery's soft limit (TASK_VERSION_CHECK_SECONDS) interrupting the check is raised in
    it as SoftTimeLimitExceeded; here it is raised where the parsing is."""
    answer = post_version(api_client_for(owner), task, new_version(bundles, task))

    def too_slow(**kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr("datasets.version_uploads.task_bundle_replace", too_slow)
    assert check(answer.json()["id"]) == "refused"
    upload = TaskVersionUpload.objects.get()
    assert "took longer than its limit of 1800 seconds" in upload.problems[0]
    assert not upload.bundle and Task.objects.get(pk=task.pk).data_version == 1


def test_a_stranded_check_is_queued_again_then_failed_with_its_bundle_deleted(
    task, owner, bundles, settings, django_capture_on_commit_callbacks, published
):
    answer = post_version(api_client_for(owner), task, new_version(bundles, task))
    upload = TaskVersionUpload.objects.get(pk=answer.json()["id"])
    zip_path = Path(upload.bundle.storage.path(upload.bundle.name))
    long_ago = timezone.now() - timedelta(seconds=settings.TASK_VERSION_CHECK_SECONDS + 600)
    TaskVersionUpload.objects.filter(pk=upload.pk).update(
        status="checking", status_changed_at=long_ago, claim_token="dead", attempts=1
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert task_version_uploads_sweep().requeued == [upload.pk]
    upload.refresh_from_db()
    assert upload.status == "queued" and upload.bundle and zip_path.exists()
    assert ("datasets.tasks.check_task_version", {"urgent": True, "countdown": None,
            "upload_pk": upload.pk}) in published  # fmt: skip
    TaskVersionUpload.objects.filter(pk=upload.pk).update(
        status="checking", status_changed_at=long_ago, attempts=settings.SCORING_MAX_ATTEMPTS
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert task_version_uploads_sweep().failed == [upload.pk]
    upload.refresh_from_db()
    assert upload.status == "failed" and "internal error" in upload.error
    assert not upload.bundle and not zip_path.exists()
