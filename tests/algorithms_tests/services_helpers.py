"""Helpers of test_services.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

from tests.scoring_tests.factories import upload


def post_archive(client, challenge, data: bytes, **extra):
    return client.post(
        f"/api/v1/challenges/{challenge.slug}/algorithms/",
        {"file": upload(data, "algo.zip"), **extra},
        format="multipart",
    )


def queue(client, algorithm_id: int, **body):
    return client.post(f"/api/v1/algorithms/{algorithm_id}/runs/", body, format="json")


