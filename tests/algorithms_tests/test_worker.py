"""Algorithms through the API, a real Redis, a real Celery worker and the real sandbox.

Each hostile algorithm is one test: it is contained (a failure naming the limit, or a run
that gains nothing), and the same worker then runs an honest algorithm to completion.
"""

from __future__ import annotations

import socket
from urllib.parse import urlparse

import pytest

from algorithms.models import AlgorithmRun
from scoring.models import Submission
from testkit.archives import algorithm_zip
from tests.algorithms_tests import hostile
from tests.scoring_tests.factories import upload
from tests.support.algorithms_worker import WORKER_SECRET

from .worker_helpers import (  # noqa: F401
    TIMEOUT,
    assert_worker_survives,
    run_hostile,
    start_running,
    start_runs,
    upload_algorithm,
    wait_run,
    wait_scored,
)

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]















def test_honest_algorithm_runs_on_a_matching_and_a_classification_task(world, algorithms_worker):
    client = world.participant.api()
    created = upload_algorithm(client, world.challenge, algorithm_zip())
    assert created["name"] == "Honest" and created["version"] == 1
    runs = start_runs(client, created["id"], tasks=[world.classification.slug, world.matching.slug])
    assert [r["task"] for r in runs] == [world.classification.slug, world.matching.slug]
    assert {r["status"] for r in runs} == {"queued"}
    for run in runs:
        body = wait_run(client, run["id"], algorithms_worker)
        assert body["status"] == "succeeded", body
        assert body["algorithm"] == created["id"] and body["version"] == 1
        assert body["seconds"] > 0 and body["peak_memory_mb"] > 10
        assert "wrote" in body["log"]
        scored = wait_scored(client, body["submission"], algorithms_worker)
        assert scored["status"] == "scored", scored
        assert scored["team"] == world.participant.team.name
        assert "Algorithm Honest v1" in scored["note"]
    matching_run = AlgorithmRun.objects.get(pk=runs[1]["id"])
    # The matching rule is exact on this data, so the scored F1 is 1.
    assert matching_run.submission.scores["public"]["f1"] == pytest.approx(1.0)
    assert matching_run.limits["memory_mb"] == 1024
    # The run's submission counts against the daily limit like an upload.
    usage = client.get(f"/api/v1/submissions/?task={world.classification.slug}").json()
    assert usage["count"] == 1


def test_env_and_proc_environ_hold_no_secret(world, algorithms_worker):
    body = run_hostile(world, algorithms_worker, hostile.ENV_SNOOP)
    assert WORKER_SECRET not in body["log"] and WORKER_SECRET not in body["error"]
    assert "test.sqlite3" not in body["log"] and "REDIS_URL" not in body["log"]
    assert "TASK_DIR=/task" in body["log"]
    assert_worker_survives(world, algorithms_worker)


def test_walking_the_filesystem_finds_no_solution_or_database(world, algorithms_worker, settings):
    body = run_hostile(world, algorithms_worker, hostile.FILE_WALK)
    hits = next(line for line in body["log"].splitlines() if line.startswith("HITS"))
    assert hits == "HITS []", hits
    assert str(settings.DATA_DIR) not in body["log"]
    assert_worker_survives(world, algorithms_worker)


def test_no_connection_to_web_redis_postgres_or_outside(world, algorithms_worker, redis_server):
    listeners = []
    for _ in range(2):  # stand-ins for the web server and PostgreSQL
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        listeners.append(server)
    ports = [s.getsockname()[1] for s in listeners] + [urlparse(redis_server.url).port]
    try:
        body = run_hostile(
            world, algorithms_worker, hostile.NETWORK, **{"ports.txt": " ".join(map(str, ports))}
        )
    finally:
        for server in listeners:
            server.close()
    for port in ports:  # no socket but a Unix one (seccomp), in an empty network namespace
        assert f"PORT {port} EPERM" in body["log"], body["log"]
    assert "INTERFACES ['lo']" in body["log"] and "OUTSIDE EPERM" in body["log"]
    assert_worker_survives(world, algorithms_worker)


def test_writing_outside_output_and_tmp_fails(world, algorithms_worker):
    body = run_hostile(world, algorithms_worker, hostile.WRITE_OUTSIDE)
    assert "WROTE" not in body["log"] and "TMP_AND_OUTPUT_OK" in body["log"]
    assert body["status"] == "failed" and "predictions" in body["error"]
    assert_worker_survives(world, algorithms_worker)


@pytest.mark.parametrize(
    ("script", "limit"),
    [
        (hostile.FORK_BOMB, "process limit"),
        (hostile.MEMORY_BOMB, "memory limit (1024 MiB)"),
        (hostile.FILL_DISK, "output size limit (40 MiB)"),
        # 4 s, not the fixtures' 20: the loop burns every second of it on a core the other
        # test process needs, and the kill is the same at any limit.
        (hostile.ENDLESS_LOOP, "CPU-time limit (4 s)"),
        (hostile.STDOUT_FLOOD, "log size limit (5 MiB)"),
    ],
    ids=["fork-bomb", "memory-bomb", "fill-disk", "endless-loop", "stdout-100mb"],
)
def test_resource_attacks_fail_naming_the_limit(world, algorithms_worker, settings, script, limit):
    if script is hostile.ENDLESS_LOOP:
        settings.ALGORITHM_CPU_SECONDS = 4  # stored on the run here, enforced by the worker
    body = run_hostile(world, algorithms_worker, script)
    assert body["status"] == "failed", body
    assert limit in body["error"], body["error"]
    assert body["submission"] is None
    assert len(body["log"].encode()) <= 64 * 1024
    assert_worker_survives(world, algorithms_worker)


def test_sleeping_past_the_wall_clock_is_killed(world, algorithms_worker, settings):
    settings.ALGORITHM_WALL_SECONDS = 3
    body = run_hostile(world, algorithms_worker, hostile.SLEEPER)
    assert body["status"] == "failed" and "wall-clock limit (3 s)" in body["error"]
    settings.ALGORITHM_WALL_SECONDS = 60
    assert_worker_survives(world, algorithms_worker)


def test_symlink_and_archive_bomb_are_refused_at_upload(world, broker):
    from testkit.archives import bomb_zip, make_zip, manifest

    client = world.participant.api()
    with_link = make_zip(
        {"algorithm.yaml": manifest(), "main.py": "print(1)\n"},
        symlinks={"data": "/work/main/var/private"},
    )
    for data, expected in ((with_link, "a symbolic link"), (bomb_zip(), "zip bomb")):
        response = client.post(
            f"/api/v1/challenges/{world.challenge.slug}/algorithms/",
            {"file": upload(data, "algo.zip")},
            format="multipart",
        )
        assert response.status_code == 400, response.content
        assert expected in response.json()["detail"]
    assert not AlgorithmRun.objects.exists() and not Submission.objects.exists()
    assert client.get("/api/v1/algorithms/").json()["results"] == []




def test_cancelling_a_running_run_stops_its_sandbox(world, algorithms_worker):
    client = world.participant.api()
    run = start_running(world, algorithms_worker, hostile.SLEEPER)
    assert client.post(f"/api/v1/algorithm-runs/{run['id']}/cancel/").status_code == 200
    body = wait_run(client, run["id"], algorithms_worker)
    assert body["status"] == "cancelled" and body["submission"] is None
    assert body["seconds"] < 30
    assert_worker_survives(world, algorithms_worker)
