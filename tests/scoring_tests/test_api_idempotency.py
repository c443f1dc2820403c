"""An upload sent again with the same ``Idempotency-Key`` makes one submission, never two.

A client that loses the answer to an upload (the connection closed, a timeout) cannot tell
whether it was taken; with a key it sends the same upload again and gets the submission the
first attempt made."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from scoring.models import Submission
from scoring.services.upload import submission_create
from tests.scoring_tests.factories import (
    csv_bytes,
    make_participant,
    predictions_frame,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()


@pytest.fixture
def task(module_tasks):
    return module_tasks["classification"]


@pytest.fixture
def alice(task):
    return make_participant(task.track.challenge, username="alice", name="Alpha")


def post(client, task_slug: str, content: bytes, key: str | None, **data):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(
        f"/api/v1/tasks/{task_slug}/submissions/",
        {"file": upload(content), **data},
        format="multipart",
        **headers,
    )


def test_the_same_key_sent_again_gets_the_first_submission(task, alice):
    key = str(uuid.uuid4())
    content = csv_bytes(predictions_frame(task))

    first = post(alice.api(), task.slug, content, key, note="v1")
    again = post(alice.api(), task.slug, content, key, note="v1")

    assert first.status_code == again.status_code == 201, again.content
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Submission.objects.filter(team=alice.team).count() == 1
    # A new key is a new upload.
    other = post(alice.api(), task.slug, content, str(uuid.uuid4()))
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert Submission.objects.filter(team=alice.team).count() == 2


def test_a_retry_after_the_last_slot_of_the_day_is_answered_not_refused(task, alice):
    task.track.challenge.daily_submission_limit = 1
    task.track.challenge.save()
    key = str(uuid.uuid4())
    content = csv_bytes(predictions_frame(task))
    first = post(alice.api(), task.slug, content, key)

    again = post(alice.api(), task.slug, content, key)

    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert post(alice.api(), task.slug, content, str(uuid.uuid4())).status_code == 429


def test_a_key_is_the_teams_own(task, alice):
    bob = make_participant(task.track.challenge, username="bob", name="Beta")
    key = str(uuid.uuid4())
    content = csv_bytes(predictions_frame(task))

    mine = post(alice.api(), task.slug, content, key)
    theirs = post(bob.api(), task.slug, content, key)

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs
    assert Submission.objects.get(pk=theirs.json()["id"]).team == bob.team


def test_a_key_reused_for_another_task_is_refused_and_changes_nothing(module_tasks, alice):
    task, other = module_tasks["classification"], module_tasks["matching"]
    key = str(uuid.uuid4())
    assert post(alice.api(), task.slug, csv_bytes(predictions_frame(task)), key).status_code == 201

    response = post(alice.api(), other.slug, csv_bytes(predictions_frame(other)), key)

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Submission.objects.filter(team=alice.team).count() == 1


@pytest.mark.parametrize("key", ["", "a" * 256, "has space", "é-ü", "tab\there"])
def test_a_malformed_key_is_refused_before_anything_is_stored(task, alice, key):
    response = post(alice.api(), task.slug, csv_bytes(predictions_frame(task)), key)

    if key == "":  # an empty header is no key: an ordinary upload
        assert response.status_code == 201
        return
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert not Submission.objects.filter(team=alice.team).exists()


@pytest.mark.django_db(transaction=True)
def test_two_attempts_at_once_make_one_submission(task, alice, monkeypatch):
    """Both attempts pass the replay check before either is committed (they wait for each
    other while storing the file); the database's unique key lets one row in, and the
    other attempt answers with it."""
    import scoring.services.upload as upload_service

    both_stored = threading.Barrier(2, timeout=30)
    real_store = upload_service._store_upload

    def store_then_wait(**kwargs):
        real_store(**kwargs)
        both_stored.wait()

    monkeypatch.setattr(upload_service, "_store_upload", store_then_wait)
    storage = Submission._meta.get_field("file").storage
    files_before = set(_stored_files(storage.location))
    key = str(uuid.uuid4())
    content = csv_bytes(predictions_frame(task))
    results: list[Submission] = []
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            results.append(
                submission_create(
                    task=task, user=alice.user, file=upload(content), idempotency_key=key
                )
            )
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert len(results) == 2 and results[0].pk == results[1].pk
    assert Submission.objects.filter(team=alice.team).count() == 1
    stored = Submission.objects.get(team=alice.team)
    # The other attempt's stored file was removed: one new file, the submission's.
    assert set(_stored_files(storage.location)) - files_before == {storage.path(stored.file.name)}


def _stored_files(root: str) -> list[str]:
    import os

    return [os.path.join(folder, name) for folder, _, names in os.walk(root) for name in names]


def test_a_session_callers_retry_after_the_last_slot_is_answered_not_refused(task, alice):
    """The same retry from a browser session: the admission asked before the body is read
    (scoring/admission.py, for session callers) answers a replay, not its daily limit."""
    task.track.challenge.daily_submission_limit = 1
    task.track.challenge.save()
    web = Client()
    web.force_login(alice.user)
    key = str(uuid.uuid4())
    content = csv_bytes(predictions_frame(task))
    first = post(web, task.slug, content, key)
    assert first.status_code == 201, first.content

    again = post(web, task.slug, content, key)

    assert again.status_code == 201, again.content
    assert again.json()["id"] == first.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert post(web, task.slug, content, str(uuid.uuid4())).status_code == 429
    assert Submission.objects.filter(team=alice.team).count() == 1
