"""The algorithms worker pool through real workers, Redis and the sandbox (issue 24): one
stuck run does not hold another team's run; a team with 50 queued runs does not delay a
team with one (the claim order, not timing, is asserted); stale and duplicate doorbells do
nothing harmful, and nothing runs twice."""

from __future__ import annotations

import contextlib

import pytest
from django.db import transaction

from algorithms.models import AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion
from algorithms.services.common import AlgorithmRefused
from algorithms.services.profiles import TEAM
from algorithms.services.runs import algorithm_run_cancel, run_create
from jobs import lifecycle
from scoring.models import Submission
from testkit.archives import algorithm_zip
from tests.algorithms_tests import hostile
from tests.algorithms_tests.worker_helpers import (
    start_runs,
    upload_algorithm,
    wait_run,
    wait_scored,
)
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]

# As the Procfile runs it: two runs at a time.
POOL = {"queues": "algorithms,scoring", "concurrency": 2, "name": "algorithms"}


def status_of(run_pk: int) -> str:
    return AlgorithmRun.objects.values_list("status", flat=True).get(pk=run_pk)


def test_a_stuck_run_does_not_stop_another_teams_run(world, broker, worker_factory):
    worker = worker_factory(**POOL)
    worker.wait_ready()
    stuck_client, other_client = world.participant.api(), world.rival.api()
    stuck = upload_algorithm(stuck_client, world.challenge, algorithm_zip(hostile.SLEEPER))
    (sleeper,) = start_runs(stuck_client, stuck["id"], tasks=[world.classification.slug])
    wait_for(lambda: status_of(sleeper["id"]) == "running", timeout=120, what="the sleeper")

    honest = upload_algorithm(other_client, world.challenge, algorithm_zip(name="Other"))
    (run,) = start_runs(other_client, honest["id"], tasks=[world.classification.slug])
    body = wait_run(other_client, run["id"], worker)
    assert body["status"] == "succeeded", body
    assert wait_scored(other_client, body["submission"], worker)["status"] == "scored"
    assert status_of(sleeper["id"]) == "running"  # still asleep the whole time

    assert stuck_client.post(f"/api/v1/algorithm-runs/{sleeper['id']}/cancel/").status_code == 200
    assert wait_run(stuck_client, sleeper["id"], worker)["status"] == "cancelled"


def test_fifty_queued_runs_of_one_team_do_not_delay_the_other_teams_run(
    world, broker, worker_factory, settings
):
    settings.ALGORITHM_MAX_PENDING_RUNS_PER_TEAM = 0  # queued here directly, as 50 requests
    busy = upload_algorithm(world.participant.api(), world.challenge, algorithm_zip(name="A"))
    version = AlgorithmVersion.objects.get(algorithm_id=busy["id"])
    with transaction.atomic():
        many = [
            run_create(
                profile=TEAM,
                version=version,
                task=world.classification,
                user=world.participant.user,
                audit=False,
            )
            for _ in range(50)
        ]
    other_client = world.rival.api()
    other = upload_algorithm(other_client, world.challenge, algorithm_zip(name="B"))
    (single,) = start_runs(other_client, other["id"], tasks=[world.classification.slug])
    # 51 doorbells are in the queue, team A's first; one worker process takes them in turn.
    worker = worker_factory(**{**POOL, "concurrency": 1})
    worker.wait_ready()
    body = wait_run(other_client, single["id"], worker)
    assert body["status"] == "succeeded", body

    for run in AlgorithmRun.objects.filter(pk__in=[r.pk for r in many], status="queued"):
        # The worker goes on meanwhile: a run it claimed and finished since needs no cancel.
        with contextlib.suppress(AlgorithmRefused):
            algorithm_run_cancel(run=run)
    wait_for(
        lambda: not AlgorithmRun.objects.filter(status__in=("queued", "running")).exists(),
        timeout=180,
        what="the last of team A's runs",
        worker=worker,
    )
    started = list(AlgorithmRun.objects.exclude(started_at=None).order_by("started_at", "pk"))
    # The claim order: team A's oldest (equal shares), then B's at once, though 49 of A's
    # were older; then A's again.
    assert [run.version.algorithm_id for run in started][:2] == [busy["id"], other["id"]]
    assert started[0].pk == many[0].pk


def test_stale_and_duplicate_doorbells_do_nothing_harmful_and_nothing_runs_twice(
    world, broker, worker_factory
):
    worker = worker_factory(**POOL)
    worker.wait_ready()
    client = world.participant.api()
    algorithm = upload_algorithm(client, world.challenge, algorithm_zip())
    runs = start_runs(
        client, algorithm["id"], tasks=[world.classification.slug, world.matching.slug]
    )
    for run in runs:  # every doorbell three times, and some for runs that do not exist
        lifecycle.publish(task_name=TEAM.task_name, run_pk=run["id"])
        lifecycle.publish(task_name=TEAM.task_name, run_pk=run["id"])
    lifecycle.publish(task_name=TEAM.task_name, run_pk=10**9)
    lifecycle.publish(task_name="algorithms.tasks.run_baseline", run_pk=runs[0]["id"])
    for run in runs:
        body = wait_run(client, run["id"], worker)
        assert body["status"] == "succeeded", body
        assert wait_scored(client, body["submission"], worker)["status"] == "scored"
    # After they finished, a stale doorbell of each again.
    for run in runs:
        lifecycle.publish(task_name=TEAM.task_name, run_pk=run["id"])
    late = upload_algorithm(client, world.challenge, algorithm_zip(name="Late"))
    (last,) = start_runs(client, late["id"], tasks=[world.classification.slug])
    assert wait_run(client, last["id"], worker)["status"] == "succeeded"

    stored = AlgorithmRun.objects.order_by("pk")
    assert [run.attempts for run in stored] == [1, 1, 1]
    assert {run.status for run in stored} == {AlgorithmRunStatus.SUCCEEDED}
    # One submission per run, each made by its run.
    assert Submission.objects.count() == 3
    assert sorted(Submission.objects.values_list("algorithm_run__pk", flat=True)) == [
        run.pk for run in stored
    ]
