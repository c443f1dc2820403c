"""Cancel works at any moment (issue 24), through a real worker, Redis and the sandbox.

Queued, starting (copying and unpacking the archive, writing ``/task``: minutes for a
large task), running (``test_worker.py``) and reading the output: each ends ``cancelled``,
leaves no folder or process behind, and the same worker then runs the next job. The slow
stages are slowed by the test-only hooks of ``tests/support/delays.py`` (600 s, longer than
the test waits, calling the stage's own cancel check as the real copy does per chunk), so
only the cancel can end them.
"""

from __future__ import annotations

import re
from pathlib import Path

import psutil
import pytest
from django.conf import settings

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from jobs import lifecycle
from testkit.archives import algorithm_zip
from tests.algorithms_tests import hostile
from tests.algorithms_tests.worker_helpers import (
    assert_worker_survives,
    start_running,
    start_runs,
    upload_algorithm,
    wait_run,
)
from tests.support.waiting import wait_for, wait_logged

pytestmark = [pytest.mark.host_wide, pytest.mark.celery_worker, pytest.mark.slow]

STAGE_SECONDS = 600  # far past every wait below: only a cancel ends the stage


def run_folders(run_pk: int) -> list[Path]:
    return list((Path(settings.DATA_DIR) / "staging").glob(f"algorithm-run-{run_pk}-*"))


def output_readers() -> list[psutil.Process]:
    """This test's output-check processes, wherever they are in the process tree (one the
    worker lost would be re-parented): those reading a copy under this run's data folder,
    not a bench's or another suite's beside it."""
    staging = str(Path(settings.DATA_DIR) / "staging") + "/"
    found = []
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        if "algorithms.output_check" in command and any(a.startswith(staging) for a in command):
            found.append(process)
    return found


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        ("unpack", "cancelled before the sandbox started"),
        ("task", "cancelled before the sandbox started"),
        ("read", "cancelled while reading the output"),
    ],
)
def test_a_cancel_in_a_slow_stage_ends_the_run_and_frees_the_worker(
    world, broker, worker_factory, stage, message
):
    worker = worker_factory(
        queues="algorithms,scoring",
        concurrency=1,
        name="algorithms",
        env={"ALGORITHM_TEST_STAGE_DELAYS": f"{stage}={STAGE_SECONDS}"},
    )
    worker.wait_ready()
    client = world.participant.api()
    algorithm = upload_algorithm(client, world.challenge, algorithm_zip())
    (run,) = start_runs(client, algorithm["id"], tasks=[world.classification.slug])
    wait_logged(
        worker,
        re.escape(f"test delay: {stage}"),
        what=f"the run to reach its {stage} stage",
        timeout=120,
    )
    assert AlgorithmRun.objects.get(pk=run["id"]).status == AlgorithmRunStatus.RUNNING
    if stage == "read":  # the reader's process (sleeping first) has started
        wait_for(output_readers, timeout=30, what="the output reader", worker=worker)

    assert client.post(f"/api/v1/algorithm-runs/{run['id']}/cancel/").status_code == 200
    body = wait_run(client, run["id"], worker)
    assert body["status"] == "cancelled", body
    assert body["error"] == message
    assert body["submission"] is None
    assert run_folders(run["id"]) == []
    assert output_readers() == []
    # The same worker (one pool process) is free: the next run goes through.
    assert_worker_survives(world, worker)


def test_a_queued_run_is_cancelled_at_once_and_its_doorbell_does_nothing(
    world, broker, algorithms_worker
):
    client = world.participant.api()
    sleeper = start_running(world, algorithms_worker, hostile.SLEEPER)
    algorithm = upload_algorithm(client, world.challenge, algorithm_zip(name="Waiting"))
    (waiting,) = start_runs(client, algorithm["id"], tasks=[world.classification.slug])
    body = client.post(f"/api/v1/algorithm-runs/{waiting['id']}/cancel/").json()
    assert (body["status"], body["error"]) == (
        "cancelled",
        "cancelled before a worker started it",
    )
    assert client.post(f"/api/v1/algorithm-runs/{sleeper['id']}/cancel/").status_code == 200
    assert wait_run(client, sleeper["id"], algorithms_worker)["status"] == "cancelled"
    # Its message (and a duplicate) find nothing queued: nothing runs, nothing changes.
    lifecycle.publish(task_name="algorithms.tasks.run_algorithm", run_pk=waiting["id"])
    lifecycle.publish(task_name="algorithms.tasks.run_algorithm", run_pk=waiting["id"])
    assert_worker_survives(world, algorithms_worker)
    stored = AlgorithmRun.objects.get(pk=waiting["id"])
    assert (stored.status, stored.attempts, stored.started_at) == ("cancelled", 0, None)
