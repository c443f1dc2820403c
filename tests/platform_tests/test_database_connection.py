"""A kept database connection that the server dropped (a restart) is replaced, not used.

``scripts/multihost.sh`` restarts PostgreSQL under load: before CONN_HEALTH_CHECKS, every web
worker answered its next request with a 500 ("terminating connection due to administrator
command") on the connection it kept (CONN_MAX_AGE).
"""

from __future__ import annotations

import psycopg
import pytest
from django.db import close_old_connections, connection

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_kept_connection_the_server_closed_is_replaced_at_the_next_request():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server connection to lose (and keeps none: CONN_MAX_AGE=0)")
    assert connection.settings_dict["CONN_MAX_AGE"] > 0  # connections are kept between requests
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (pid,))

    close_old_connections()  # what Django does when the next request starts
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_the_servers_side_finds_a_client_cut_off_within_seconds():
    """A worker cut off from the database in a transaction leaves its backend holding row
    locks; the server's kernel would keep that socket 2 hours (its keepalive default), and
    the job's next try waited on the lock until something killed the backend (a chaos run:
    125 s). Each session sets the server's side of its socket to find a silent client as the
    client finds a silent server: keepalives after 5 s idle, every 2 s, 3 unanswered, and
    unacknowledged data given up after the user timeout."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server side")
    with connection.cursor() as cursor:
        cursor.execute("SELECT inet_server_addr() IS NOT NULL")  # a TCP socket, not a Unix one
        assert cursor.fetchone()[0], "the test database is reached over a Unix socket"
        shown = {}
        for name in (
            "tcp_keepalives_idle",
            "tcp_keepalives_interval",
            "tcp_keepalives_count",
            "tcp_user_timeout",
        ):
            cursor.execute(f"SHOW {name}")
            shown[name] = cursor.fetchone()[0]
    assert shown == {
        "tcp_keepalives_idle": "5",  # seconds ("0", the kernel's 2 hours, without them)
        "tcp_keepalives_interval": "2",
        "tcp_keepalives_count": "3",
        "tcp_user_timeout": "10000",  # milliseconds
    }
