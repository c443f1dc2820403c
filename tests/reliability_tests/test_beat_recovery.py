"""Beat was down while the broker lost its messages; when beat comes back, nothing is lost.

Submissions are queued while no worker runs, then their doorbells are lost (the broker
keeps its data). A worker starts: it has nothing to consume, so they stay ``queued``. Then the real
``celery beat`` process starts with a schedule file that says its last run was a day ago,
as after a long outage: the overdue ``republish-lost-jobs`` entry fires at once, the
worker finds the queued rows with no message on the broker and publishes theirs again
(:mod:`jobs.republish`), and each is scored exactly once.

(tests/reliability_tests/test_lost_publishes.py loses the messages of every job type; here
the republish comes from the beat schedule through the broker and a worker.)
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery.beat import PersistentScheduler

from challenges.models import WorkerHeartbeat
from jobs.celery import app, task_modules_loaded
from scoring.models import Submission, SubmissionStatus
from tests.reliability_tests.setup_helpers import make_setup
from tests.support.broker import lose_messages, queue_length
from tests.support.waiting import wait_for, wait_logged, wait_scored_line

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]


def overdue_schedule(path: Path) -> Path:
    """The beat schedule file of a beat that last ran a day ago (every entry overdue). The
    entries are the task modules' (imported here as the beat imports them)."""
    task_modules_loaded()
    scheduler = PersistentScheduler(app=app, schedule_filename=str(path))
    long_ago = app.now() - timedelta(days=1)
    for entry in scheduler.schedule.values():
        entry.last_run_at = long_ago
    assert "republish-lost-jobs" in scheduler.schedule
    scheduler.close()  # syncs the file
    return path


def test_submissions_whose_messages_were_lost_are_scored_once_when_beat_returns(
    processes, broker, tmp_path
):
    setup = make_setup(tmp_path)
    pks = []
    for _ in range(4):
        response = setup.upload()
        assert response.status_code == 201, response.content
        pks.append(response.json()["id"])
    assert queue_length(broker, "scoring") == 4  # the doorbells, while no worker runs
    # ...lost, while the broker keeps its data (a publish that failed, a message a killed
    # worker had taken): its marker says so, as a worker's earlier beat would have set it.
    # (A broker that lost its data is found by the workers' own beats instead: jobs.liveness,
    # test_lost_publishes.py.)
    lose_messages(broker)

    quick = {"JOB_REPUBLISH_SECONDS": "2"}  # a row queued 1 s without a message lost it
    worker = processes(env=quick)
    worker.wait_ready()
    time.sleep(3)  # beat is still down: nothing tells the worker about them
    statuses = set(Submission.objects.filter(pk__in=pks).values_list("status", flat=True))
    assert statuses == {SubmissionStatus.QUEUED}

    schedule = overdue_schedule(tmp_path / "celerybeat-schedule")
    beat = processes("beat", schedule=schedule, env=quick)
    wait_for(
        lambda: (
            Submission.objects.filter(pk__in=pks, status=SubmissionStatus.SCORED).count()
            == len(pks)
        ),
        timeout=90,
        what="every submission to be scored after beat came back",
        log=[worker, beat],
    )
    assert "Sending due task republish-lost-jobs" in beat.log()
    for pk in pks:
        assert wait_scored_line(worker, pk) == 1, pk
    wait_logged(worker, r"submission: published again \[[\d, ]+\]", what="the republish's log")
    assert Submission.objects.count() == len(pks)
    assert set(Submission.objects.values_list("attempts", flat=True)) == {1}
    # Beat's other entry ran too: the organizers' health panel sees a live worker again.
    wait_for(
        lambda: WorkerHeartbeat.objects.exclude(hostname__startswith="ping:").exists(),
        timeout=30,
        what="the heartbeat",
        log=[worker, beat],
    )
