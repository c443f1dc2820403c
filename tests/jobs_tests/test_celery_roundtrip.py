"""A task goes through the real Redis broker to a real worker process and back to the DB."""

from __future__ import annotations

import time
import uuid

import pytest

from challenges.models import WorkerHeartbeat
from challenges.tasks import ping
from tests.support.broker import queued_messages, task_of

pytestmark = pytest.mark.celery_worker


def test_task_round_trip_through_real_redis_and_worker(celery_worker, redis_client):
    value = uuid.uuid4().hex
    ping.delay(value=value)
    deadline = time.monotonic() + 120  # generous: a loaded CI machine, not a speed check
    while time.monotonic() < deadline:
        if WorkerHeartbeat.objects.filter(hostname=f"ping:{value}").exists():
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the worker never ran the task; log:\n{celery_worker.log_tail()}")
    # The message went through Redis (not an eager, in-process call) and was taken from it.
    # Only the ping's own message is looked for: other tests of this process share the
    # broker, and what they left in the queue is not this test's subject.
    waiting = [task_of(m) for m in queued_messages(redis_client, "scoring")]
    assert [w for w in waiting if w[1].get("value") == value] == [], waiting
    assert celery_worker.process.poll() is None
