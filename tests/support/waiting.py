"""Polling for what another process (a worker, beat, the live server) will do."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable

import pytest
from django.db import connection


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
    lines = 60
    if worker is not None and hasattr(worker, "dump_stacks"):
        worker.dump_stacks()  # where it waits, in its log (jobs.worker.STACKS_SIGNAL)
        lines = 400
    tail = "".join(f"\n--- {p.log_path.name}:\n{p.log_tail(lines)}" for p in processes)
    pytest.fail(f"timed out after {timeout}s waiting for {what}{tail}{database_waits()}")


def database_waits() -> str:
    """On PostgreSQL, what each connection to this database is doing and which others block
    it (a worker stuck on a row lock says so); nothing elsewhere."""
    if connection.vendor != "postgresql":
        return ""
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, state, wait_event_type, wait_event, pg_blocking_pids(pid),"
                " now() - xact_start, left(query, 200) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            rows = cursor.fetchall()
    except Exception as error:  # a failure's report: never hide the failure behind it
        return f"\n--- pg_stat_activity: could not read it ({error})"
    return "\n--- pg_stat_activity (pid, state, wait, blocked by, in transaction for, query):\n" + (
        "\n".join(" | ".join(str(value) for value in row) for row in rows)
    )


def wait_logged(process, pattern: str, *, what: str, timeout: float = 30) -> str:
    """``process``'s log once ``pattern`` (a regular expression) is in it; fail after
    ``timeout`` seconds with its tail. A worker logs what it did after the commit that did
    it, so a test that saw the database change reads the log through this, never at once."""

    def logged() -> str | None:
        text = process.log_path.read_text(errors="replace")
        return text if re.search(pattern, text) else None

    return wait_for(logged, timeout=timeout, what=what, worker=process)


def scored_lines(worker, pk: int) -> int:
    """How many times ``worker``'s log says it scored submission ``pk``."""
    return len(re.findall(_scored(pk), worker.log_path.read_text(errors="replace")))


def wait_scored_line(worker, pk: int, *, timeout: float = 30) -> int:
    """``scored_lines`` once there is one (``wait_logged``: the line follows the commit)."""
    log = wait_logged(
        worker, _scored(pk), what=f"the log line of submission {pk}'s score", timeout=timeout
    )
    return len(re.findall(_scored(pk), log))


def _scored(pk: int) -> str:
    return rf"submission {pk} scored:"
