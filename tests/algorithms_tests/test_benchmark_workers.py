"""The living benchmark through real workers, Redis and the sandbox (issue 26): a new task
makes every benchmark algorithm run on it with no one acting; the budget stops the queue and
a restarted worker with a higher budget resumes it, losing no pending re-run; a
participant's run is claimed before re-runs queued earlier (the claim order is asserted, not
timing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from algorithms.services.benchmark import benchmark_tick
from leaderboard.transfer.matrix import transfer_matrix
from testkit.archives import algorithm_zip
from tests.algorithms_tests.worker_helpers import start_runs, upload_algorithm
from tests.scoring_tests.factories import imported_task, make_participant
from tests.support.broker import lose_messages
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]

TIMEOUT = 240


def reruns(task) -> list[AlgorithmRun]:
    return list(AlgorithmRun.objects.filter(profile="benchmark", task=task).order_by("pk"))


def statuses(task) -> list[str]:
    return [run.status for run in reruns(task)]


def all_finished(task, n: int) -> bool:
    done = statuses(task)
    return len(done) == n and all(s in ("succeeded", "failed") for s in done)


def test_a_new_task_runs_every_benchmark_algorithm_with_no_one_acting(
    world, broker, algorithms_worker_factory, tmp_path: Path
):
    worker = algorithms_worker_factory()
    a = upload_algorithm(world.participant.api(), world.challenge, algorithm_zip(name="A"))
    b = upload_algorithm(world.rival.api(), world.challenge, algorithm_zip(name="B"))
    assert not AlgorithmRun.objects.exists()  # an upload runs nothing by itself

    task = imported_task(tmp_path, challenge=world.challenge, slug="arrives-later")
    wait_for(lambda: all_finished(task, 2), timeout=TIMEOUT, what="the re-runs", worker=worker)
    runs = reruns(task)
    assert [r.status for r in runs] == ["succeeded", "succeeded"], [r.error for r in runs]
    assert sorted(r.version.algorithm_id for r in runs) == sorted([a["id"], b["id"]])
    for run in runs:
        assert run.submission is None and run.started_by is None and run.scores
        assert run.manifest["task_data_version"] == 1 and run.manifest["cpu_seconds"] > 0
    body = world.participant.api().get(f"/api/v1/challenges/{world.challenge.slug}/benchmark/")
    assert {k: body.json()[k] for k in ("pending", "running", "done", "failed")} == {
        "pending": 0,
        "running": 0,
        "done": 2,
        "failed": 0,
    }
    matrix = transfer_matrix(track=task.track)
    assert {row.algorithm.pk for row in matrix.rows} == {a["id"], b["id"]}


def test_the_budget_stops_the_queue_and_a_restart_with_more_budget_resumes_it(
    world, broker, algorithms_worker_factory, tmp_path: Path, settings
):
    third = make_participant(world.challenge, username="third")
    for participant, name in ((world.participant, "A"), (world.rival, "B"), (third, "C")):
        upload_algorithm(participant.api(), world.challenge, algorithm_zip(name=name))
    # 0.036 CPU seconds a day: the first re-run starts (nothing used yet) and spends it.
    tiny = {"BENCHMARK_CPU_HOURS_PER_DAY": "0.00001"}
    settings.BENCHMARK_CPU_HOURS_PER_DAY = 0.00001
    # No reproduction sampling: the tick below would ring for a sampled re-run's copy too.
    settings.REPRODUCTION_SHARE = 0
    worker = algorithms_worker_factory(env=tiny)
    task = imported_task(tmp_path, challenge=world.challenge, slug="arrives-later")
    wait_for(
        lambda: (
            statuses(task).count("succeeded") == 1
            and worker.log_path.read_text(errors="replace").count("'skipped'") >= 2
        ),
        timeout=TIMEOUT,
        what="one re-run, and the doorbells of the others answered with nothing",
        worker=worker,
    )
    assert sorted(statuses(task)) == ["queued", "queued", "succeeded"]
    body = world.participant.api().get(f"/api/v1/challenges/{world.challenge.slug}/benchmark/")
    assert body.json()["pending"] == 2 and body.json()["budget"]["used_today"] > 0.00001

    # A crash: the worker is killed; the queue is in the database, nothing is lost.
    worker.kill()
    lose_messages(broker)  # and whatever messages were left with it
    settings.BENCHMARK_CPU_HOURS_PER_DAY = 1
    restarted = algorithms_worker_factory(env={"BENCHMARK_CPU_HOURS_PER_DAY": "1"})
    # The beat's tick (run here: the test starts no beat) rings for the queued re-runs.
    assert benchmark_tick()["rung"] == 2
    wait_for(lambda: all_finished(task, 3), timeout=TIMEOUT, what="the re-runs", worker=restarted)
    assert statuses(task) == ["succeeded"] * 3
    assert all(run.attempts == 1 for run in reruns(task))


def test_a_participants_run_is_claimed_before_reruns_queued_earlier(
    world, broker, algorithms_worker_factory, tmp_path: Path
):
    client = world.participant.api()
    mine = upload_algorithm(client, world.challenge, algorithm_zip(name="A"))
    upload_algorithm(world.rival.api(), world.challenge, algorithm_zip(name="B"))
    task = imported_task(tmp_path, challenge=world.challenge, slug="arrives-later")
    assert len(reruns(task)) == 2  # queued first, no worker yet
    (asked,) = start_runs(client, mine["id"], tasks=[world.classification.slug])
    worker = algorithms_worker_factory()  # one run at a time
    wait_for(
        lambda: (
            all_finished(task, 2)
            and AlgorithmRun.objects.get(pk=asked["id"]).status == AlgorithmRunStatus.SUCCEEDED
        ),
        timeout=TIMEOUT,
        what="every run",
        worker=worker,
    )
    order = list(
        AlgorithmRun.objects.exclude(started_at=None)
        .order_by("started_at", "pk")
        .values_list("pk", flat=True)
    )
    assert order[0] == asked["id"]
    assert set(order[1:]) == {run.pk for run in reruns(task)}
