"""kombu's Redis transport, without restoring a worker's unacknowledged messages when it
closes its channel (``CELERY_BROKER_TRANSPORT``;
docs/decisions/0058-nothing-lost-when-faults-overlap.md).

kombu's Redis transport puts every message a worker holds unacknowledged back on its queue
when the worker's channel closes. When the broker restarted under the worker, that close
runs after kombu let go of the connection, and it fails (``AttributeError: 'NoneType'
object has no attribute 'hostname'`` in ``Channel._connparams``): Celery calls it an
unrecoverable error and the worker exits, on every broker restart that finds it holding a
message (seen in every chaos run until this). When it does not fail, it puts back messages
whose jobs are still running in the pool, so another worker runs them a second time.

The same release also crashed the ack of a job that finished after the worker had
reconnected: acknowledging on the old channel asks it for a client, and building one reads
the connection kombu has let go of (``'NoneType' object has no attribute 'client'``). Such a
channel now says its connection is gone (a connection error, which Celery logs as an ack it
could not make, and goes on): the message stays in the ``unacked`` hash, its job is final,
and the message does nothing if it is ever delivered again (the claim).

This platform needs neither restore: a job's row is the truth and its message only a doorbell
(docs/architecture.md, "The job lifecycle"). A message a worker held stays in kombu's
``unacked`` hash; what its jobs need is done by the lifecycle: a running job whose worker
stopped is taken back by liveness, and a queued job whose message sits unacknowledged
longer than half of ``JOB_REPUBLISH_SECONDS`` is published again (:mod:`jobs.republish`).
Everything else is kombu's transport as it is.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis
from redis.exceptions import ConnectionError as RedisConnectionError


class QoS(redis.QoS):
    restore_at_shutdown = False


class Channel(redis.Channel):
    QoS = QoS

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection is None or self.connection.client is None:
            raise RedisConnectionError("this channel's broker connection was closed")
        return super()._connparams(asynchronous)


class Transport(redis.Transport):
    Channel = Channel
