"""Upload budgets per team (issue 39, ``challenges.upload_budget``), in-process: the
storage quota on prediction files and algorithm archives together, refused before anything
is stored, and before the body is read when the body announces its size; the rate's slots
free themselves; a cache outage lets uploads through. The hostile runs through gunicorn are
in ``tests/security_tests/test_upload_budget_hostile.py``."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from algorithms.models import AlgorithmVersion
from challenges.upload_budget import team_storage_use
from common.rates import Rate, parse_rate
from scoring.models import Submission
from scoring.services.upload import submission_create_for_job
from testkit.archives import algorithm_zip
from tests.scoring_tests.factories import csv_bytes, make_participant, predictions_frame, upload
from tests.scoring_tests.upload_admission_helpers import UntouchableBody

pytestmark = pytest.mark.django_db
MIB = 1024 * 1024


@pytest.fixture
def task(module_tasks):
    task = module_tasks["classification"]
    challenge = task.track.challenge
    challenge.daily_submission_limit = 100
    challenge.save()
    return task


@pytest.fixture
def alice(task):
    return make_participant(task.track.challenge, username="alice", name="Alpha")


def stored_bytes() -> int:
    root = Path(django_settings.PRIVATE_ROOT)
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def padded_csv(task, size: int) -> bytes:
    """A valid prediction file of about ``size`` bytes (a long header comment is not CSV,
    so the padding is a note column)."""
    frame = predictions_frame(task, scores=False)
    frame["note"] = "x" * max(size // len(frame), 1)
    return csv_bytes(frame)


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("60/minute", Rate(60, 60, "minute")),
        ("60/min", Rate(60, 60, "minute")),
        (" 5 / s ", Rate(5, 1, "second")),
        ("100/hour", Rate(100, 3600, "hour")),
        ("7/d", Rate(7, 86400, "day")),
        ("0", None),
        ("", None),
        ("0/minute", None),
    ],
)
def test_rates_read_as_the_settings_write_them(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["60", "sixty/minute", "60/fortnight", "-1/minute", "60/"])
def test_a_malformed_rate_is_refused(text):
    with pytest.raises(ValueError, match="60/minute"):
        parse_rate(text)


def test_the_quota_counts_prediction_files_and_archives_and_refuses_the_one_past_it(
    task, alice, settings
):
    settings.TEAM_STORAGE_QUOTA_MB = 1
    api = alice.api()
    data = padded_csv(task, 500 * 1024)
    url = f"/api/v1/tasks/{task.slug}/submissions/"
    assert api.post(url, {"file": upload(data)}, format="multipart").status_code == 201
    archive = algorithm_zip(**{"weights.txt": secrets.token_hex(360 * 1024)})  # ~400 KiB
    created = api.post(
        f"/api/v1/challenges/{task.track.challenge.slug}/algorithms/",
        {"file": upload(archive, "algo.zip")},
        format="multipart",
    )
    assert created.status_code == 201, created.content
    use = team_storage_use(team=alice.team)
    assert use.parts == {
        "task data versions": (0, 0),
        "prediction files": (1, len(data)),
        "reference files": (0, 0),
        "algorithm archives": (1, AlgorithmVersion.objects.get().archive_size),
        "write-up PDFs": (0, 0),
    }
    before = stored_bytes()

    refused = api.post(url, {"file": upload(data)}, format="multipart")
    assert refused.status_code == 413
    body = refused.json()
    assert body["code"] == "storage_quota"
    assert body["detail"].startswith("Your team's storage quota is 1 MiB and it uses ")
    assert "(1 prediction file and 1 algorithm archive)" in body["detail"]
    assert "nothing was stored" in body["detail"]
    again = api.post(
        f"/api/v1/challenges/{task.track.challenge.slug}/algorithms/",
        {"file": upload(archive, "algo.zip")},
        format="multipart",
    )
    assert again.status_code == 413 and again.json()["code"] == "storage_quota"
    assert stored_bytes() == before
    assert Submission.objects.filter(team=alice.team).count() == 1
    assert AlgorithmVersion.objects.count() == 1


def test_the_web_form_shows_the_quota_refusal_in_the_form(task, alice, settings):
    settings.TEAM_STORAGE_QUOTA_MB = 1
    client = Client()
    client.force_login(alice.user)
    url = f"/tasks/{task.slug}/submit/"
    big = padded_csv(task, 700 * 1024)
    assert client.post(url, {"file": upload(big)}).status_code == 302
    page = client.post(url, {"file": upload(big)})
    assert page.status_code == 413
    assert "storage quota is 1 MiB" in page.content.decode()
    assert Submission.objects.filter(team=alice.team).count() == 1


def test_a_body_announcing_more_than_the_quota_left_is_refused_unread(task, alice, settings):
    settings.TEAM_STORAGE_QUOTA_MB = 1
    body = UntouchableBody()
    client = Client()
    response = client.generic(
        "POST", f"/api/v1/tasks/{task.slug}/submissions/", b"",
        content_type="multipart/form-data; boundary=xyz",
        **{"CONTENT_LENGTH": str(3 * MIB), "wsgi.input": body,
           "HTTP_AUTHORIZATION": alice.api()._credentials["HTTP_AUTHORIZATION"]},
    )  # fmt: skip
    assert response.status_code == 413 and response.json()["code"] == "storage_quota"
    assert body.reads == 0
    web = Client(enforce_csrf_checks=True)  # as a browser: CSRF would read the body
    web.force_login(alice.user)
    body = UntouchableBody()
    page = web.generic(
        "POST", f"/tasks/{task.slug}/submit/", b"",
        content_type="multipart/form-data; boundary=xyz",
        **{"CONTENT_LENGTH": str(3 * MIB), "wsgi.input": body},
    )  # fmt: skip
    assert page.status_code == 413 and "storage quota is 1 MiB" in page.content.decode()
    assert body.reads == 0


def test_files_a_job_made_for_the_team_are_not_charged(task, alice, settings, tmp_path):
    settings.TEAM_STORAGE_QUOTA_MB = 1
    predictions = tmp_path / "predictions.csv"
    predictions.write_bytes(padded_csv(task, 2 * MIB))
    submission_create_for_job(
        task=task, team=alice.team, predictions=predictions, note="run", name="run-1"
    )
    assert team_storage_use(team=alice.team).total == 0
    response = alice.api().post(
        f"/api/v1/tasks/{task.slug}/submissions/",
        {"file": upload(padded_csv(task, 100 * 1024))},
        format="multipart",
    )
    assert response.status_code == 201


def test_a_slot_of_the_rate_frees_itself_when_its_window_ends(task, alice, settings):
    settings.TEAM_UPLOAD_RATE = "2/second"
    api = alice.api()
    url = f"/api/v1/tasks/{task.slug}/submissions/"
    data = csv_bytes(predictions_frame(task, scores=False))

    def send() -> int:
        return api.post(url, {"file": upload(data)}, format="multipart").status_code

    assert [send(), send()] == [201, 201]
    refused = api.post(url, {"file": upload(data)}, format="multipart")
    assert refused.status_code == 429 and refused["Retry-After"] == "1"
    assert "your team sent 2 in the last second" in refused.json()["detail"]
    time.sleep(2.1)  # the window's length, whole seconds in the cache (not a speed bound)
    assert send() == 201


def test_without_the_cache_uploads_go_through(task, alice, settings, caplog):
    """The counters live in Redis; while it is unreachable the rate is not counted (logged),
    as the login throttle does, rather than refusing every upload with a 500."""
    settings.TEAM_UPLOAD_RATE = "1/minute"
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # discard port: nothing answers
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    }
    api = alice.api()
    url = f"/api/v1/tasks/{task.slug}/submissions/"
    data = csv_bytes(predictions_frame(task, scores=False))
    codes = [
        api.post(url, {"file": SimpleUploadedFile("p.csv", data)}, format="multipart").status_code
        for _ in range(2)
    ]
    assert codes == [201, 201]
    assert "the upload rate is not" in caplog.text
