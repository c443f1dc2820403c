"""A task owner's reference uploads within the team's upload budget (issue 51,
``challenges.upload_budget``): past the team's rate (shared with every other kind of
upload) the API and the manage page answer 429, at the storage quota 413, before the file is
read or scored, and nothing is stored; what is stored counts on the file's bytes until the
reference is removed. Organizers are not charged."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from challenges.upload_budget import team_storage_use
from scoring.models import Reference
from tests.scoring_tests.factories import api_client_for, make_participant, upload
from tests.scoring_tests.references_helpers import organizer, wrong_on
from tests.scoring_tests.upload_admission_helpers import UntouchableBody

pytestmark = pytest.mark.django_db
MIB = 1024 * 1024


@pytest.fixture
def task(module_tasks):
    return module_tasks["classification"]


@pytest.fixture
def ann(task):
    """A task owner (her team contributed the task)."""
    ann = make_participant(task.track.challenge, username="ann", name="Ann")
    task.owner_team = ann.team
    task.save(update_fields=["owner_team"])
    return ann


def private_files() -> set[Path]:
    root = Path(django_settings.PRIVATE_ROOT)
    return {p for p in root.rglob("*") if p.is_file()}


def post(api, task, name: str, content: bytes):
    url = f"/api/v1/tasks/{task.slug}/references/"
    return api.post(url, {"name": name, "file": upload(content)}, format="multipart")


def test_past_the_team_s_rate_the_api_and_the_page_answer_429(task, ann, settings):
    settings.TEAM_UPLOAD_RATE = "2/hour"
    settings.REFERENCE_UPLOADS_PER_DAY = 10
    data = wrong_on(task, set())
    api = ann.api()
    assert [post(api, task, f"r{i}", data).status_code for i in range(2)] == [201, 201]
    before = private_files()
    refused = post(api, task, "r2", data)
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert int(refused["Retry-After"]) > 0 and refused.json()["retry_after"]
    assert "Too many uploads: your team sent 2 in the last hour" in refused.json()["detail"]
    page = Client()
    page.force_login(ann.user)
    response = page.post(
        f"/tasks/{task.slug}/manage/references/",
        {"action": "upload", "name": "r3", "file": upload(data)},
    )
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert 'data-role="upload-error" role="alert">Too many uploads' in response.content.decode()
    assert Reference.objects.filter(task=task, source="upload").count() == 2
    assert private_files() == before
    # The rate is the team's for every kind of upload: a prediction file is refused too.
    submission = api.post(
        f"/api/v1/tasks/{task.slug}/submissions/", {"file": upload(data)}, format="multipart"
    )
    assert submission.status_code == 429 and submission.json()["code"] == "rate_limited"


def test_at_the_storage_quota_the_api_and_the_page_answer_413(task, ann, settings):
    settings.TEAM_STORAGE_QUOTA_MB = 1
    data = wrong_on(task, set())
    big = data + b"\n" * (MIB + 1)  # trailing blank lines: a valid file over the quota
    api = ann.api()
    before = private_files()
    refused = post(api, task, "big", big)
    assert refused.status_code == 413 and refused.json()["code"] == "storage_quota"
    assert "storage quota is 1 MiB" in refused.json()["detail"]
    page = Client()
    page.force_login(ann.user)
    response = page.post(
        f"/tasks/{task.slug}/manage/references/",
        {"action": "upload", "name": "big", "file": upload(big)},
    )
    assert response.status_code == 413 and "storage quota is 1 MiB" in response.content.decode()
    assert not Reference.objects.filter(task=task, source="upload").exists()
    assert private_files() == before

    made = post(api, task, "small", data)
    assert made.status_code == 201, made.json()
    reference = Reference.objects.get(name="small")
    assert (reference.team, reference.file_size) == (ann.team, len(data))
    assert team_storage_use(team=ann.team).parts["reference files"] == (1, len(data))
    delete = api.delete(f"/api/v1/tasks/{task.slug}/references/{reference.pk}/")
    assert delete.status_code == 204
    assert team_storage_use(team=ann.team).parts["reference files"] == (0, 0)


def test_a_body_announcing_more_than_the_quota_left_is_refused_unread(task, ann, settings):
    settings.TEAM_STORAGE_QUOTA_MB = 1
    url = f"/api/v1/tasks/{task.slug}/references/"
    for caller in ("token", "session"):
        body = UntouchableBody()
        client = Client(enforce_csrf_checks=True)
        extra = {"CONTENT_LENGTH": str(3 * MIB), "wsgi.input": body}
        if caller == "token":
            extra["HTTP_AUTHORIZATION"] = ann.api()._credentials["HTTP_AUTHORIZATION"]
        else:
            client.force_login(ann.user)
        response = client.generic(
            "POST", url, b"", content_type="multipart/form-data; boundary=xyz", **extra
        )
        assert response.status_code == 413, (caller, response.content)
        assert response.json()["code"] == "storage_quota" and body.reads == 0


def test_an_organizer_s_reference_is_not_charged(task, ann, settings):
    settings.TEAM_UPLOAD_RATE = "1/hour"
    settings.TEAM_STORAGE_QUOTA_MB = 1
    api = api_client_for(organizer())
    data = wrong_on(task, set())
    assert [post(api, task, f"o{i}", data).status_code for i in range(3)] == [201] * 3
    assert set(Reference.objects.filter(source="upload").values_list("team", flat=True)) == {None}
    assert team_storage_use(team=ann.team).total == 0
