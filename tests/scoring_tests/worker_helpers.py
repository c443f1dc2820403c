"""Helpers of test_worker.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

from tests.scoring_tests.factories import (
    upload,
)
from tests.support.waiting import wait_for


def api_upload(client, task, content: bytes, name: str) -> int:
    response = client.post(
        f"/api/v1/tasks/{task.slug}/submissions/",
        {"file": upload(content, name), "note": name},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def poll_until_final(client, pk: int, worker) -> dict:
    def final():
        response = client.get(f"/api/v1/submissions/{pk}/")
        assert response.status_code == 200
        body = response.json()
        return body if body["status"] in ("scored", "failed") else None

    return wait_for(final, timeout=60, what=f"submission {pk} to be scored", worker=worker)


