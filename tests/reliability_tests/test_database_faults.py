"""The database connection is lost while a real worker scores a submission.

On PostgreSQL the worker's backends are terminated (``pg_terminate_backend``) while it holds
the submission in ``scoring``; on SQLite, which has no connection to cut, a test-only hook
makes the worker's next query fail the same way (``tests/reliability_tests/db_fault.py``).
Either way the submission must end scored exactly once, within seconds, with no stray file:
a lost connection is a temporary error that Celery retries, and the retry (same task id)
takes the row over. (tests/scoring_tests covers the retry policy with a patched service;
this is the real worker against a real cut connection.)
"""

from __future__ import annotations

import pytest
from django.db import connection

from scoring.models import Submission, SubmissionStatus
from tests.reliability_tests.setup_helpers import make_setup
from tests.support.waiting import wait_for, wait_scored_line

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]


def cut_the_worker_s_database_connections(trigger) -> int:
    """Terminate every other backend of the test database (PostgreSQL), or arm the hook."""
    if connection.vendor != "postgresql":
        trigger.touch()
        return 1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return len(cursor.fetchall())


def test_a_lost_database_connection_mid_scoring_ends_scored_exactly_once(processes, tmp_path):
    setup = make_setup(tmp_path)
    trigger = tmp_path / "lose-the-connection"
    worker = processes(
        env={"SCORING_TEST_DELAY_SECONDS": "3", "DB_FAULT_TRIGGER": str(trigger)},
        concurrency=1,
    )
    worker.wait_ready()
    response = setup.upload()
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    wait_for(
        lambda: Submission.objects.get(pk=pk).status == SubmissionStatus.SCORING,
        timeout=30,
        what="the worker to claim the submission",
        log=[worker],
    )

    assert cut_the_worker_s_database_connections(trigger) >= 1

    wait_for(
        lambda: Submission.objects.get(pk=pk).status == SubmissionStatus.SCORED,
        timeout=60,
        what="the submission to be scored after the connection came back",
        log=[worker],
    )
    assert wait_scored_line(worker, pk) == 1
    submission = Submission.objects.get(pk=pk)
    log = worker.log()
    assert "the database was unavailable" in log, "the fault did not happen"
    assert not trigger.exists()
    assert submission.attempts == 2  # the interrupted attempt and the retry
    assert submission.error == ""
    assert submission.scores["public"]["accuracy"] is not None
    # The interrupted attempt's predictions file was removed; only the final one is left.
    folder = submission.predictions.name.rsplit("/", 1)[0]
    _, stored = submission.predictions.storage.listdir(folder)
    assert sorted(n for n in stored if n.startswith("predictions-")) == [
        submission.predictions.name.rsplit("/", 1)[1]
    ]
