"""Helpers of test_benchmark.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

from algorithms.models import AlgorithmVersion
from jobs.liveness import Liveness
from testkit.archives import HONEST_MAIN, algorithm_zip
from tests.algorithms_tests.services_helpers import post_archive


def beating(broker, node: str, queues: tuple[str, ...]) -> None:
    """A live worker ``node`` consuming ``queues`` (its entry and key in Redis, as its
    liveness thread writes them)."""
    Liveness(
        holder=f"{node}#1",
        client=broker,
        beat_seconds=1,
        lost_after=60,
        sweep=lambda holder, reason: ([], []),
        holders_of_claims=list,
        queues=queues,
    ).beat()


def upload(participant, challenge, name: str, main: str = HONEST_MAIN) -> AlgorithmVersion:
    """A new algorithm ``name`` of ``participant``'s team, uploaded over the API: its version."""
    body = post_archive(participant.api(), challenge, algorithm_zip(main, name=name)).json()
    return AlgorithmVersion.objects.get(algorithm_id=body["id"], number=body["version"])
