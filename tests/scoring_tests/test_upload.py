"""``submission_create``: the cheap synchronous checks, the daily limit and storage."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from scoring.models import Submission, SubmissionStatus
from scoring.services.upload import SubmissionRefused, submission_create
from tests.scoring_tests.factories import (
    csv_bytes,
    make_participant,
    parquet_bytes,
    predictions_frame,
    upload,
)
from tests.support.broker import queued_submission_pks
from tests.support.storage_faults import private_storage_class

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(module_tasks):
    return module_tasks["classification"]


@pytest.fixture
def alice(task):
    return make_participant(task.track.challenge, username="alice")


def stored_submission_files() -> set[Path]:
    root = Path(django_settings.PRIVATE_ROOT) / "submissions"
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def refusal(task, user, content: bytes, name: str = "p.csv") -> SubmissionRefused:
    before_rows, before_files = Submission.objects.count(), stored_submission_files()
    with pytest.raises(SubmissionRefused) as caught:
        submission_create(task=task, user=user, file=upload(content, name))
    assert Submission.objects.count() == before_rows, "a refusal creates nothing"
    assert stored_submission_files() == before_files, "a refusal stores nothing"
    return caught.value


def test_an_upload_is_stored_queued_and_published_after_commit(
    task, alice, broker, django_capture_on_commit_callbacks
):
    content = csv_bytes(predictions_frame(task))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submission = submission_create(
            task=task, user=alice.user, file=upload(content, "my preds.csv"), note=" first try "
        )
        assert queued_submission_pks(broker) == [], "nothing is published before the commit"
    for callback in callbacks:
        callback()

    assert queued_submission_pks(broker) == [submission.pk]
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.QUEUED
    assert submission.status_changed_at is not None
    assert (submission.team, submission.uploaded_by) == (alice.team, alice.user)
    assert submission.note == "first try"
    assert submission.original_name == "my preds.csv"
    assert (submission.file_format, submission.file_size) == ("csv", len(content))
    with submission.file.open("rb") as handle:
        assert handle.read() == content
    assert submission.file.name.startswith(f"submissions/{task.slug}/{alice.team.pk}/")


@pytest.mark.parametrize(
    ("make", "fmt"),
    [
        (lambda f: parquet_bytes(f), "parquet"),
        (lambda f: csv_bytes(f, gzipped=True), "csv.gz"),
        (lambda f: b"\xef\xbb\xbf" + csv_bytes(f), "csv"),
        (lambda f: b'"id";"label"\n', "csv"),  # wrong separator: the worker explains it
    ],
)
def test_the_format_is_sniffed_from_the_content_not_the_name(task, alice, make, fmt):
    submission = submission_create(
        task=task, user=alice.user, file=upload(make(predictions_frame(task)), "x.txt")
    )
    assert submission.file_format == fmt


def test_a_multibyte_character_cut_by_the_sniffed_prefix_is_fine(task, alice):
    head = b"id,label,comment\n"
    row = "t0000,bird,caf\u00e9\n".encode()
    content = head + row * (8192 // len(row) + 5)
    assert content[:8192].decode("utf-8", "ignore") != content[:8192].decode("utf-8", "replace")
    submission = submission_create(task=task, user=alice.user, file=upload(content))
    assert submission.file_format == "csv"


@pytest.mark.parametrize(
    ("content", "code", "words"),
    [
        (b"", "empty", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "bad_format", "not Parquet, gzipped CSV"),
        (b"PK\x03\x04" + b"\x00" * 100, "bad_format", "ZIP archive or an Excel workbook"),
        ("id,label\nt1,bird\n".encode("utf-16"), "bad_format", "UTF-16"),
        (b"id,label\nt1,caf\xe9\n", "bad_format", "UTF-8"),
        (b"identifier,label\nt1,bird\n", "no_header", "header naming the columns"),
        (b"t0000,bird\nt0001,cat\n", "no_header", "including 'id'"),
        (b"\nid,label\n", "no_header", "header"),
    ],
)
def test_files_that_are_obviously_not_submissions_are_refused_at_once(
    task, alice, content, code, words
):
    refused = refusal(task, alice.user, content)
    assert (refused.code, refused.http_status) == (code, 400)
    assert words in refused.message


def test_a_file_over_the_size_limit_is_refused_with_413(task, alice, settings):
    settings.SUBMISSION_MAX_BYTES = 1000
    refused = refusal(task, alice.user, b"id,label\n" + b"t1,bird\n" * 200)
    assert (refused.code, refused.http_status) == ("too_large", 413)
    assert "The file is 1.6 KiB; the limit is 1,000 bytes." in refused.message


def test_anonymous_users_cannot_submit(task):
    refused = refusal(task, AnonymousUser(), b"id,label\n")
    assert refused.http_status == 401


def test_a_user_without_a_team_in_the_challenge_is_refused(task, module_tasks):
    from tests.scoring_tests.factories import ChallengeFactory, UserFactory

    loner = UserFactory()
    make_participant(ChallengeFactory())  # a team in another challenge does not help
    refused = refusal(task, loner, csv_bytes(predictions_frame(task)))
    assert (refused.code, refused.http_status) == ("no_team", 403)
    assert "create or join a team" in refused.message


def test_a_hidden_team_cannot_submit(task):
    hidden = make_participant(task.track.challenge, is_hidden=True)
    refused = refusal(task, hidden.user, csv_bytes(predictions_frame(task)))
    assert (refused.code, refused.http_status) == ("team_hidden", 403)


def test_submissions_are_refused_before_the_challenge_opens(task, alice):
    challenge = task.track.challenge
    now = timezone.now()
    challenge.start, challenge.end = now + timedelta(days=1), now + timedelta(days=2)
    challenge.save()
    refused = refusal(task, alice.user, csv_bytes(predictions_frame(task)))
    assert (refused.code, refused.http_status) == ("not_open", 403)
    assert "UTC" in refused.message


def test_after_the_end_uploads_are_accepted_for_the_post_challenge_board(task, alice):
    challenge = task.track.challenge
    now = timezone.now()
    challenge.start, challenge.end = now - timedelta(days=2), now
    challenge.save()
    submission = submission_create(
        task=task, user=alice.user, file=upload(csv_bytes(predictions_frame(task)))
    )
    assert submission.status == SubmissionStatus.QUEUED
    assert submission.created_at >= challenge.end  # on the post-challenge board once scored


def test_the_daily_limit_counts_pending_and_scored_but_not_failed_submissions(task, alice):
    challenge = task.track.challenge
    challenge.daily_submission_limit = 3
    challenge.save()
    content = csv_bytes(predictions_frame(task))
    first, second, third = (
        submission_create(task=task, user=alice.user, file=upload(content)) for _ in range(3)
    )
    Submission.objects.filter(pk=second.pk).update(status=SubmissionStatus.SCORED)

    refused = refusal(task, alice.user, content)
    assert (refused.code, refused.http_status) == ("daily_limit", 429)
    tomorrow = (timezone.now().astimezone(UTC) + timedelta(days=1)).date()
    assert refused.retry_after == datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC)
    assert f"{refused.retry_after:%Y-%m-%d} 00:00 UTC" in refused.message

    # A failed submission gives its slot back.
    Submission.objects.filter(pk=third.pk).update(status=SubmissionStatus.FAILED)
    submission_create(task=task, user=alice.user, file=upload(content))
    refusal(task, alice.user, content)

    # Yesterday's submissions do not count; teammates share the quota; other tasks are apart.
    Submission.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timedelta(days=1, hours=1)
    )
    teammate = make_participant(task.track.challenge)
    from challenges.models import TeamMembership

    TeamMembership.objects.filter(user=teammate.user).update(team=alice.team)
    submission_create(task=task, user=teammate.user, file=upload(content))
    refusal(task, teammate.user, content)


def test_the_limit_is_per_task(module_tasks, alice):
    classification, matching = module_tasks["classification"], module_tasks["matching"]
    challenge = classification.track.challenge
    challenge.daily_submission_limit = 1
    challenge.save()
    submission_create(
        task=classification,
        user=alice.user,
        file=upload(csv_bytes(predictions_frame(classification))),
    )
    refusal(classification, alice.user, csv_bytes(predictions_frame(classification)))
    submission_create(
        task=matching, user=alice.user, file=upload(csv_bytes(predictions_frame(matching)))
    )


def test_when_storage_fails_nothing_is_created_and_the_user_is_told(task, alice, monkeypatch):
    storage_class = private_storage_class()

    def broken(self, name, content):
        raise OSError("No space left on device")

    monkeypatch.setattr(storage_class, "_save", broken)
    refused = refusal(task, alice.user, csv_bytes(predictions_frame(task)))
    assert (refused.code, refused.http_status) == ("storage_unavailable", 503)
    assert "try again" in refused.message and "nothing was submitted" in refused.message


def test_a_refusal_after_storing_removes_the_stored_file(task, alice, monkeypatch):
    """The limit is checked again under the lock; losing that race must not leave a file."""
    from scoring.services import upload

    calls = []
    real = upload._check_daily_limit

    def full_on_second_check(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise SubmissionRefused("daily_limit", "full", 429)
        return real(**kwargs)

    monkeypatch.setattr(upload, "_check_daily_limit", full_on_second_check)
    refused = refusal(task, alice.user, gzip.compress(csv_bytes(predictions_frame(task))))
    assert refused.code == "daily_limit" and len(calls) == 2
