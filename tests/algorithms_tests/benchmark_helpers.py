"""Helpers of test_benchmark.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

from jobs.liveness import Liveness


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


