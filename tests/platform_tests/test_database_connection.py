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
