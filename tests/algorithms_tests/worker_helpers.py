"""Helpers of test_worker.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

from testkit.archives import algorithm_zip
from tests.scoring_tests.factories import upload
from tests.support.waiting import wait_for

TIMEOUT = 180


def upload_algorithm(client, challenge, data: bytes, name: str = "algo.zip") -> dict:
    response = client.post(
        f"/api/v1/challenges/{challenge.slug}/algorithms/",
        {"file": upload(data, name)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()


def start_runs(client, algorithm_id: int, **body) -> list[dict]:
    response = client.post(f"/api/v1/algorithms/{algorithm_id}/runs/", body, format="json")
    assert response.status_code == 202, response.content
    return response.json()["runs"]


def wait_run(client, run_id: int, worker) -> dict:
    def final():
        body = client.get(f"/api/v1/algorithm-runs/{run_id}/").json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_for(final, timeout=TIMEOUT, what=f"algorithm run {run_id}", worker=worker)


def wait_scored(client, submission_id: int, worker) -> dict:
    def final():
        body = client.get(f"/api/v1/submissions/{submission_id}/").json()
        return body if body["status"] in ("scored", "failed") else None

    return wait_for(final, timeout=TIMEOUT, what=f"submission {submission_id}", worker=worker)


def run_hostile(world, worker, script: str, **files: str) -> dict:
    client = world.participant.api()
    algorithm = upload_algorithm(
        client, world.challenge, algorithm_zip(script, name="Hostile", **files)
    )
    (run,) = start_runs(client, algorithm["id"], tasks=[world.classification.slug])
    return wait_run(client, run["id"], worker)


def assert_worker_survives(world, worker) -> None:
    """The same worker then runs an honest algorithm to a scored submission."""
    client = world.participant.api()
    algorithm = upload_algorithm(client, world.challenge, algorithm_zip(name="Honest after"))
    (run,) = start_runs(client, algorithm["id"], tasks=[world.classification.slug])
    body = wait_run(client, run["id"], worker)
    assert body["status"] == "succeeded", body
    assert wait_scored(client, body["submission"], worker)["status"] == "scored"


def start_running(world, worker, script: str) -> dict:
    """Upload ``script``, start it on the classification task, return once it runs."""
    client = world.participant.api()
    algorithm = upload_algorithm(client, world.challenge, algorithm_zip(script))
    (run,) = start_runs(client, algorithm["id"], tasks=[world.classification.slug])
    wait_for(
        lambda: client.get(f"/api/v1/algorithm-runs/{run['id']}/").json()["status"] == "running",
        timeout=TIMEOUT,
        what="the run to start",
        worker=worker,
    )
    return run


