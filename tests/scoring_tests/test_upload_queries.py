"""One upload asks each rule once (issue 68): the SQL of a prediction file's API upload and of
its scoring job, counted on the real path.

A profile of one upload found the open phase read 9 times, the admission check run twice and
the daily limit and storage quota asked 3 times each (46 statements for the upload). What
must be asked again stays: the daily limit and the quota under the team's lock (two uploads
at once never both take the last slot or the last room: tests/scoring_tests/
test_concurrency.py), and the phase once the body has arrived (an upload whose body arrives
after its phase ended belongs to what is open then). The rest is passed down.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from scoring.models import Submission, SubmissionStatus
from scoring.services.lifecycle import submission_score
from tests.scoring_tests.factories import csv_bytes, make_participant, predictions_frame, upload

pytestmark = pytest.mark.django_db

# The upload: the token (2), the task, the admission (team, phase, the daily counts of team
# and person in one, the storage use: every kind's rows in one, the write-up PDF's), the phase
# at arrival, then the write: savepoint, user and team locks, membership, the daily counts, the
# storage use again (2), the row, release; and what the answer reads (the run it came from,
# its ladder step).
UPLOAD_QUERIES = 20  # 46 before issue 68; 30 with a query per daily count and per kind stored
# The scoring job: claim, score, the board's refresh in the same transaction, the digests.
SCORING_QUERIES = {"sqlite": 54, "postgresql": 55}  # PostgreSQL: one statement more


@pytest.fixture
def task(module_tasks):
    cache.clear()  # the upload rate's slots
    return module_tasks["classification"]


def _phase_reads(seen: CaptureQueriesContext) -> int:
    return sum('FROM "challenges_phase"' in q["sql"] for q in seen.captured_queries)


def _storage_reads(seen: CaptureQueriesContext) -> int:
    """How many times the team's storage use was read: one query for every kind kept in rows
    (prediction files, references, task data, algorithm archives), the prediction files'
    among them."""
    reads = [
        q["sql"]
        for q in seen.captured_queries
        if 'SUM("scoring_submission"."file_size")' in q["sql"]
    ]
    for sql in reads:  # every kind in the same statement
        assert all(table in sql for table in STORED_TABLES), sql
    return len(reads)


STORED_TABLES = (
    '"scoring_submission"',
    '"scoring_reference"',
    '"datasets_taskversion"',
    '"datasets_taskversionupload"',
    '"algorithms_algorithmversion"',
)


def _daily_counts(seen: CaptureQueriesContext) -> int:
    """Queries counting today's submissions (the team's and the person's in one)."""
    return sum(
        'FROM "scoring_submission"' in q["sql"]
        and "COUNT(" in q["sql"]
        and '"created_at" >=' in q["sql"]
        for q in seen.captured_queries
    )


def test_an_api_upload_asks_each_rule_once_and_the_locked_ones_again(task):
    alice = make_participant(task.track.challenge, username="alice", name="Alpha")
    api = alice.api()
    content = csv_bytes(predictions_frame(task))
    url = f"/api/v1/tasks/{task.slug}/submissions/"
    assert api.post(url, {"file": upload(content)}, format="multipart").status_code == 201

    with CaptureQueriesContext(connection) as seen:
        response = api.post(url, {"file": upload(content)}, format="multipart")

    assert response.status_code == 201, response.content
    assert _phase_reads(seen) == 2  # before the body is read, and once it arrived
    assert _daily_counts(seen) == 2  # team and person together: at admission, under the lock
    assert _storage_reads(seen) == 2  # at admission, and under the lock
    assert len(seen.captured_queries) <= UPLOAD_QUERIES
    assert Submission.objects.filter(team=alice.team).count() == 2


def test_the_web_forms_upload_asks_the_admission_once(task):
    """The form's upload is admitted by the middleware before the body is read
    (scoring/admission.py); the view's ``submission_create`` takes that answer."""
    alice = make_participant(task.track.challenge, username="alice", name="Alpha")
    web = Client()
    web.force_login(alice.user)
    url = f"/tasks/{task.slug}/submit/"
    content = csv_bytes(predictions_frame(task))

    with CaptureQueriesContext(connection) as seen:
        response = web.post(url, {"file": upload(content)})

    assert response.status_code == 302, response.content
    assert Submission.objects.filter(team=alice.team).count() == 1
    assert _phase_reads(seen) == 2  # 9 before issue 68
    assert _daily_counts(seen) == 2  # 6 before issue 68, 4 with a query per count
    assert _storage_reads(seen) == 2  # 3


def test_a_session_callers_api_upload_asks_the_admission_once(task):
    """A browser's API upload is admitted by the middleware before the body is read (as the
    form's); the API view takes that answer instead of asking again."""
    alice = make_participant(task.track.challenge, username="alice", name="Alpha")
    web = Client()
    web.force_login(alice.user)
    content = csv_bytes(predictions_frame(task))

    with CaptureQueriesContext(connection) as seen:
        response = web.post(f"/api/v1/tasks/{task.slug}/submissions/", {"file": upload(content)})

    assert response.status_code == 201, response.content
    assert _phase_reads(seen) == 2  # 3 when the view asked the admission again
    assert _daily_counts(seen) == 2  # 6 before issue 68, 4 with a query per count
    assert _storage_reads(seen) == 2  # 3


def test_the_scoring_job_of_an_upload_stays_within_its_queries(task):
    alice = make_participant(task.track.challenge, username="alice", name="Alpha")
    response = alice.api().post(
        f"/api/v1/tasks/{task.slug}/submissions/",
        {"file": upload(csv_bytes(predictions_frame(task)))},
        format="multipart",
    )
    assert response.status_code == 201, response.content

    with CaptureQueriesContext(connection) as seen:
        status = submission_score(submission_pk=response.json()["id"])

    assert status == SubmissionStatus.SCORED
    assert len(seen.captured_queries) <= SCORING_QUERIES[connection.vendor]
