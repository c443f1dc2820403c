"""A kept database connection that the server dropped (a restart) is replaced, not used.

``scripts/multihost.sh`` restarts PostgreSQL under load: before CONN_HEALTH_CHECKS, every web
worker answered its next request with a 500 ("terminating connection due to administrator
command") on the connection it kept (CONN_MAX_AGE).
"""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest
from django.contrib.auth import get_user_model
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


def test_a_statement_run_again_on_a_connection_is_prepared_on_the_server():
    """Each of the ORM's statements is parsed and planned once per connection, not on every
    run (DATABASE_PREPARED_STATEMENTS, on by default): bound on the server, prepared by
    psycopg after its 5th run. A pooler that cannot keep them turns it off."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite prepares in the process; PostgreSQL's server plans")
    users = get_user_model().objects
    for _ in range(6):
        list(users.filter(username="nobody-here"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "auth_user"' in sql and "$1" in sql for sql in prepared), prepared


def test_prepared_statements_can_be_turned_off_for_a_pooler():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "challenge_platform.settings.test",
        "DATABASE_URL": "postgres://someone:secret@127.0.0.1:9/nothing",
    }
    probe = (
        "from django.conf import settings; o = settings.DATABASES['default']['OPTIONS']; "
        "print(o.get('server_side_binding'), o.get('prepare_threshold'))"
    )
    for value, expected in (("1", "True 5"), ("0", "None None")):
        shown = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {probe}"],
            env={**env, "DATABASE_PREPARED_STATEMENTS": value},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert shown == expected, (value, shown)
