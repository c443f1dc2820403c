"""What a failed run's public face says: a category, never the run's own words (issue 51).

A run's ``error`` and ``log_tail`` may quote what the algorithm printed (its last log line
on a non-zero exit, values of its predictions file): they belong to its team and the
organizers, on their own pages (the algorithm's page, ``GET algorithm-runs/<id>/``). Every
answer others can read (the public transfer matrix and its page) shows a failed run as
"failed" with :func:`failure_category`, taken from the run's structured fields alone.
"""

from __future__ import annotations

TIME_LIMIT = "time limit"
MEMORY = "memory"
RESOURCE_LIMIT = "resource limit"  # processes, /tmp, output or log size
EXIT_CODE = "exit code"
INVALID_OUTPUT = "invalid output"
PLATFORM = "platform error"  # ended before the sandbox's result: staging, a worker's fault

CATEGORIES = (TIME_LIMIT, MEMORY, RESOURCE_LIMIT, EXIT_CODE, INVALID_OUTPUT, PLATFORM)
TIME_LIMITS = frozenset({"wall_seconds", "cpu_seconds"})


def failure_category(*, status: str, limit_hit: str, exit_code: int | None) -> str | None:
    """The category of a failed run (None for any other status): the limit it hit, a
    non-zero exit (or a kill by a signal), output refused after a clean exit, or a failure
    before the sandbox said how the program ended."""
    if status != "failed":
        return None
    if limit_hit in TIME_LIMITS:
        return TIME_LIMIT
    if limit_hit == "memory_mb":
        return MEMORY
    if limit_hit:
        return RESOURCE_LIMIT
    if exit_code is None:
        return PLATFORM
    return EXIT_CODE if exit_code != 0 else INVALID_OUTPUT


def run_failure(*, run: object) -> str | None:
    """:func:`failure_category` of an ``AlgorithmRun`` (loaded with ``status``,
    ``limit_hit`` and ``exit_code``)."""
    return failure_category(
        status=str(getattr(run, "status", "")),
        limit_hit=getattr(run, "limit_hit", "") or "",
        exit_code=getattr(run, "exit_code", None),
    )
