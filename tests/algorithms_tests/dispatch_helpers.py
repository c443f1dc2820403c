"""Helpers of test_dispatch.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

from algorithms.models import AlgorithmVersion
from testkit.archives import algorithm_zip
from tests.algorithms_tests.services_helpers import post_archive


def version_of(participant, challenge, name: str) -> AlgorithmVersion:
    body = post_archive(participant.api(), challenge, algorithm_zip(name=name)).json()
    return AlgorithmVersion.objects.get(algorithm_id=body["id"], number=body["version"])


