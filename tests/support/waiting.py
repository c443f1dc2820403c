"""Polling for what another process (a worker, beat, the live server) will do."""

from __future__ import annotations

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
