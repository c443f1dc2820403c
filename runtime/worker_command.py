"""The command line of a Celery worker process the platform's tools start by themselves (the
tests' worker fixture, the benches, the screenshot maker): one home, so they all run the
worker the same way. Production's workers are in the Procfile."""

from __future__ import annotations

import sys


def celery_worker_command(queues: str, *, concurrency: int, hostname: str) -> list[str]:
    """A worker of ``queues`` (comma-separated) with ``concurrency`` pool processes, named
    ``hostname`` (``%h`` is the machine's name), INFO log; no gossip or mingle: the tools'
    workers need no peers' state, and starting without them is seconds faster."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "challenge_platform",
        "worker",
        "-Q",
        queues,
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "INFO",
        "--hostname",
        hostname,
        "--without-gossip",
        "--without-mingle",
    ]
