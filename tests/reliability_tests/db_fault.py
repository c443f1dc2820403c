"""A test-only database fault for worker processes: a lost connection, on demand.

When the file named by ``DB_FAULT_TRIGGER`` exists, the next query of the process fails
with Django's ``OperationalError`` (what a dropped connection raises) and the file is
removed, so the fault happens once. SQLite has no server connection to cut, so the tests use
this there; on PostgreSQL they terminate the worker's backend for real.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.db import OperationalError
from django.db.backends.signals import connection_created

TRIGGER = os.environ.get("DB_FAULT_TRIGGER")


def _lose_connection(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    if TRIGGER:
        try:
            Path(TRIGGER).unlink()
        except FileNotFoundError:
            pass
        else:
            raise OperationalError("server closed the connection unexpectedly (test fault)")
    return execute(sql, params, many, context)


def _install(sender: Any, connection: Any, **kwargs: Any) -> None:
    if _lose_connection not in connection.execute_wrappers:
        connection.execute_wrappers.append(_lose_connection)


if TRIGGER:
    connection_created.connect(_install)
