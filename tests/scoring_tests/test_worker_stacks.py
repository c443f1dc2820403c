"""Where a worker waits, when a job waits without a log line (jobs.worker.STACKS_SIGNAL): the
signal writes each thread's Python stack of the main process and of each pool process to the
worker's log, and the worker goes on working. A test's wait that times out with a worker
(tests/support/waiting.py) puts those stacks in its failure."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from jobs.celery import app
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_a_worker_asked_for_its_stacks_writes_every_process_s_and_keeps_working(
    scoring_worker_factory,
):
    worker = scoring_worker_factory(concurrency=1)
    worker.wait_ready()
    with pytest.raises(pytest.fail.Exception) as failed:
        wait_for(lambda: False, timeout=0.2, what="nothing at all", worker=worker)
    report = str(failed.value)
    assert "timed out after 0.2s waiting for nothing at all" in report
    # The main process (its liveness thread, Celery's consumer) and the pool process: each
    # writes "Current thread 0x... (most recent call first)" for the thread that took it.
    assert len(re.findall(r"^Current thread 0x[0-9a-f]+ \(most recent call first\):", report,
                          re.M)) >= 2, report  # fmt: skip
    assert "celery" in report and "jobs/liveness.py" in report, report
    if connection.vendor == "postgresql":  # each connection's wait: a worker's among them
        assert "pg_stat_activity (pid, state, wait" in report, report
    assert worker.process.poll() is None
    assert app.control.ping(destination=[worker.nodename], timeout=5), "no answer after it"
