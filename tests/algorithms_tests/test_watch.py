"""A running run's heartbeat after the database went away and came back
(algorithms/services/watch.py): the next beat is on a new connection, so the run is seen
alive again and ends normally, instead of every later beat (and the run's end) failing on
the dead connection."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from algorithms.services.watch import RunWatch
from tests.algorithms_tests.benchmark_helpers import upload

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_heartbeat_after_a_lost_connection_reconnects(world):
    version = upload(world.participant, world.challenge, "A")
    run = AlgorithmRun.objects.create(
        version=version, task=world.classification, profile="team",
        status=AlgorithmRunStatus.RUNNING, claim_token="tok", status_changed_at=timezone.now(),
    )  # fmt: skip
    watch = RunWatch(run_pk=run.pk, token="tok")
    connection.ensure_connection()
    connection.connection.close()  # the server ended it (a restart, a killed backend)
    watch.beat()  # fails, logged; the dead connection is let go
    assert not watch.is_set() and not watch.lost
    watch.beat()  # the database is back: a new connection
    run.refresh_from_db()
    assert run.heartbeat_at is not None and not watch.lost
