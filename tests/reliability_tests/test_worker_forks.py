"""A pool process is never forked while a thread of the worker's main process holds a database
connection (jobs.worker): CPython frees the other threads' locals in a forked child, so the
child would close the parent's connection, whose SQLite locks and WAL index are the parent's.
Seen on the embedded SQLite default: a scoring worker forked while its start-up republish
held a write transaction read a stale database ("submission 1 no longer exists"), was refused
every write ("database is locked"), then answered "disk I/O error".
"""

from __future__ import annotations

import os
import threading

import pytest
from django.db import connection

from jobs import worker

pytestmark = pytest.mark.django_db(transaction=True)


def fork_and_reap() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def test_a_fork_waits_until_the_main_process_s_database_work_is_done(monkeypatch) -> None:
    worker._guard_forks()
    inside, release = threading.Event(), threading.Event()
    held: dict[str, object] = {}

    def holders_while_a_fork_is_asked() -> list[str]:
        connection.ensure_connection()  # the liveness thread's connection is open here
        held["open"] = connection.connection is not None
        inside.set()
        release.wait(30)
        return ["scoring@elsewhere#0"]

    monkeypatch.setattr(worker.holders, "claim_holders", holders_while_a_fork_is_asked)
    found: list[list[str]] = []

    def look() -> None:
        found.append(worker.claim_holders())
        held["closed after"] = connection.connection is None

    liveness = threading.Thread(target=look)
    liveness.start()
    assert inside.wait(30)

    forked = threading.Event()
    pool = threading.Thread(target=lambda: (fork_and_reap(), forked.set()))
    pool.start()
    # However long this waits, the fork cannot happen while the connection is open.
    assert not forked.wait(0.5)
    release.set()
    liveness.join(30)
    pool.join(30)
    assert forked.is_set()
    assert held["open"] and found == [["scoring@elsewhere#0"]]
    assert held["closed after"]  # the thread keeps no connection for a later fork to meet
    assert not worker._no_fork.locked()


def test_a_fork_goes_ahead_at_once_when_no_database_work_runs() -> None:
    worker._guard_forks()
    worker._guard_forks()  # registered once, however often a worker is initialised
    fork_and_reap()
    assert not worker._no_fork.locked()
