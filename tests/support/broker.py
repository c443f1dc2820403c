"""The messages waiting in a Celery queue on the real Redis broker, as a worker will take them.

kombu's Redis transport keeps one list per priority step of a queue: ``scoring`` for
priority 0 (a job re-queued ahead of the backlog) and ``scoring\\x06\\x163`` for 3, the
default (``CELERY_BROKER_TRANSPORT_OPTIONS["priority_steps"]``); a publish pushes on the
left and a worker pops the right end of the lowest step first. Tests read the lists
through these helpers, never one list by name.
"""

from __future__ import annotations

import json
from base64 import b64decode
from typing import Any

from django.conf import settings
from kombu import pools
from kombu.transport.redis import Channel

from jobs.broker import priority_steps


def point_celery_at(app: Any, url: str) -> None:
    """Make this process's ``app`` publish to ``url``: the connections made earlier are
    closed and every pool is made again on the next publish. The app's producer pool holds
    the connection pool it was built on (closing that one alone left it failing every later
    publish with "Acquire on closed pool"), and kombu keeps its pools by broker address, so
    a closed pool would be handed out again when the app comes back to an address: all of
    them go (``kombu.pools.reset``, what kombu does in a forked child)."""
    pools.reset()
    app._pool = None
    amqp = app.__dict__.get("amqp")  # a cached property: absent until the first publish
    if amqp is not None:
        amqp._producer_pool = None
    app.conf.broker_url = url


def priority_lists(queue: str) -> list[str]:
    """The Redis lists of ``queue``, in the order a worker serves them."""
    steps = priority_steps(transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    return [f"{queue}{Channel.sep}{step}" if step else queue for step in steps]


def queued_messages(redis_client: Any, queue: str) -> list[dict]:
    """The raw messages waiting in ``queue``, the next one to be taken first."""
    messages = []
    for key in priority_lists(queue):
        messages += [json.loads(raw) for raw in reversed(redis_client.lrange(key, 0, -1))]
    return messages


def queue_length(redis_client: Any, queue: str) -> int:
    return sum(redis_client.llen(key) for key in priority_lists(queue))


def pop_message(redis_client: Any, queue: str) -> dict | None:
    """Take the next message of ``queue`` as a worker would (None when it is empty)."""
    for key in priority_lists(queue):
        raw = redis_client.rpop(key)
        if raw is not None:
            return json.loads(raw)
    return None


def task_of(message: dict) -> tuple[str, dict, int | None]:
    """A message's task name, keyword arguments and priority."""
    _args, kwargs, _embed = json.loads(b64decode(message["body"]))
    return message["headers"]["task"], kwargs, message["properties"].get("priority")


def lose_messages(broker: Any) -> None:
    """Every message on the broker is lost, but the broker keeps its data otherwise (a worker
    killed with its prefetched messages, publishes that failed): the workers' marker stays,
    so no worker's beat takes it for a broker that lost its data (jobs.liveness) and only
    the republish rules bring the jobs back. (``flushall`` is a broker restarted empty.)"""
    from jobs.liveness import EPOCH_KEY

    marker = broker.get(EPOCH_KEY)
    broker.flushall()
    broker.set(EPOCH_KEY, marker or "an earlier worker")


def queued_submission_pks(redis_client, queue: str = "scoring") -> list[int]:
    """The submission ids of the ``score_submission`` messages waiting in ``queue``."""
    pks = []
    for message in queued_messages(redis_client, queue):
        name, kwargs, _priority = task_of(message)
        if name == "scoring.tasks.score_submission":
            pks.append(kwargs["submission_pk"])
    return sorted(pks)
