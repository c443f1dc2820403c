"""Polling for what another process (a worker, beat, the live server) will do."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable

import pytest


def wait_for(
    predicate: Callable[[], object],
    *,
    timeout: float,
    what: str,
    worker=None,
    log: Iterable | None = None,
    interval: float = 0.1,
) -> object:
    """Return the first truthy ``predicate()``; fail after ``timeout`` seconds, showing the
    log tails of ``worker`` and of each process in ``log``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    processes = ([worker] if worker is not None else []) + list(log or [])
    tail = "".join(f"\n--- {p.log_path.name}:\n{p.log_tail(60)}" for p in processes)
    pytest.fail(f"timed out after {timeout}s waiting for {what}{tail}")


def scored_lines(worker, pk: int) -> int:
    """How many times ``worker``'s log says it scored submission ``pk``."""
    return len(re.findall(rf"submission {pk} scored:", worker.log_path.read_text()))


def wait_scored_line(worker, pk: int, *, timeout: float = 30) -> int:
    """``scored_lines`` once there is one: the worker logs "submission N scored:" just after
    its commit, so a test that saw the row scored can read the log before the line is there."""
    return wait_for(
        lambda: scored_lines(worker, pk),
        timeout=timeout,
        what=f"the log line of submission {pk}'s score",
        worker=worker,
    )
