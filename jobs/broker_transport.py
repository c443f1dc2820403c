"""kombu's Redis transport, without restoring a worker's unacknowledged messages when it
closes its channel (``CELERY_BROKER_TRANSPORT``; docs/decisions.md, "Chaos").

kombu's Redis transport puts every message a worker holds unacknowledged back on its queue
when the worker's channel closes. When the broker restarted under the worker, that close
runs after kombu let go of the connection, and it fails (``AttributeError: 'NoneType'
object has no attribute 'hostname'`` in ``Channel._connparams``): Celery calls it an
unrecoverable error and the worker exits, on every broker restart that finds it holding a
message (seen in every chaos run until this). When it does not fail, it puts back messages
whose jobs are still running in the pool, so another worker runs them a second time.

This platform needs neither: a job's row is the truth and its message only a doorbell
(docs/architecture.md, "The job lifecycle"). A message a worker held stays in kombu's
``unacked`` hash; what its jobs need is done by the lifecycle: a running job whose worker
stopped is taken back by liveness, and a queued job whose message sits unacknowledged
longer than half of ``JOB_REPUBLISH_SECONDS`` is published again (:mod:`jobs.republish`).
Everything else is kombu's transport as it is.
"""

from __future__ import annotations

from kombu.transport import redis


class QoS(redis.QoS):
    restore_at_shutdown = False


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
