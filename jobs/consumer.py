"""A Celery worker's consumer that reconnects to the broker within a couple of seconds of its
return (``CELERY_WORKER_CONSUMER``; docs/decisions/0058-nothing-lost-when-faults-overlap.md).

Celery's consumer reconnects with kombu's defaults: waits of 2, 4, 6, ... up to 30 s between
tries (Celery passes none of its own). A worker whose broker came back after a 20 s outage
could try again only at 30 s, and one back after 13 s only at 20 s: its queue waited up to
ten seconds more while the broker answered. The platform's consumer tries every second, then
every two: one connection attempt costs the broker nothing, and a worker that cannot reach
it has nothing else to do. Everything else is Celery's consumer as it is.
"""

from __future__ import annotations

import functools
from typing import Any

from celery.worker.consumer import Consumer as CeleryConsumer

RECONNECT = {"interval_start": 1.0, "interval_step": 1.0, "interval_max": 2.0}


class Consumer(CeleryConsumer):
    def ensure_connected(self, conn: Any) -> Any:
        conn.ensure_connection = functools.partial(conn.ensure_connection, **RECONNECT)
        return super().ensure_connected(conn)
