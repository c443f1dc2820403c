"""What is on the broker now: the messages of the platform's tasks that wait in a queue or
that a worker holds unacknowledged (docs/architecture.md, "Lost messages").

Read straight from kombu's Redis transport, the broker the platform runs on: each queue is
a Redis list per priority step (``<queue>``, ``<queue>\\x06\\x163``...) of JSON messages,
and a message a worker took but has not acknowledged (late acknowledgement: until its job
ends; or one reserved for later, a countdown) sits in the ``unacked`` hash. A message's
headers name its task and its id; its body is ``[args, kwargs, embed]`` (Celery's protocol 2,
JSON). Nothing here writes to the broker.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

SEPARATOR = "\x06\x16"  # kombu's Redis transport: queue name + SEPARATOR + priority step
KOMBU_PRIORITY_STEPS = (0, 3, 6, 9)  # kombu's Redis transport, when none are configured
UNACKED = "unacked"
UNACKED_INDEX = "unacked_index"  # delivery tag -> when a worker took the message (epoch s)
CHUNK = 1000
# Past this many messages the view stops reading (a backlog that large is being worked on);
# ``complete`` then says so and the caller publishes nothing on its strength.
MAX_MESSAGES = 200_000


@dataclass
class Waiting:
    """The messages of one task on the broker."""

    pks: set[int] = field(default_factory=set)  # the rows they name
    queued: int = 0  # in a queue list
    unacked: dict[str, int | None] = field(default_factory=dict)  # message id -> row named
    # Unacknowledged messages delivered before the view's ``held_since``: a worker took them
    # that long ago and has not started them (their rows still queued: a worker killed with
    # them prefetched, whose messages kombu restores only after its visibility timeout, an
    # hour and more). They name no row in ``pks``; the caller decides what they are worth.
    held_long: set[str] = field(default_factory=set)


@dataclass
class BrokerView:
    tasks: dict[str, Waiting] = field(default_factory=dict)
    complete: bool = True

    def of(self, task_name: str) -> Waiting:
        return self.tasks.get(task_name) or Waiting()


def priority_steps(*, transport_options: Mapping[str, Any]) -> list[int]:
    """The priority steps of the broker's transport options (kombu's Redis transport keeps a
    list per queue and step), kombu's own default when they name none."""
    return list(transport_options.get("priority_steps") or KOMBU_PRIORITY_STEPS)


def queue_keys(*, queue: str, steps: Iterable[int]) -> list[str]:
    """The Redis lists of ``queue``, one per priority step."""
    return [queue if not step else f"{queue}{SEPARATOR}{step}" for step in sorted(set(steps))]


def queue_depths(
    *, client: redis.Redis, queues: Iterable[str], steps: Iterable[int]
) -> dict[str, int]:
    """How many messages wait in each of ``queues``, its lists of every priority step
    together (counted in one round trip, none read). Messages a worker holds unacknowledged
    are not in a list: they are being worked on."""
    names, steps = list(queues), sorted(set(steps))
    pipe = client.pipeline(transaction=False)
    for queue in names:
        for key in queue_keys(queue=queue, steps=steps):
            pipe.llen(key)
    counts = iter(pipe.execute())
    return {
        queue: sum(next(counts) for _ in queue_keys(queue=queue, steps=steps)) for queue in names
    }


def broker_view(
    *,
    client: redis.Redis,
    queues: Iterable[str],
    pk_kwargs: Mapping[str, str],
    steps: Iterable[int],
    held_since: float | None = None,
) -> BrokerView:
    """The messages of the tasks in ``pk_kwargs`` (task name -> its keyword for the row's pk)
    waiting in ``queues`` or unacknowledged. A message that cannot be read (not JSON, another
    protocol) is skipped. ``held_since`` (epoch seconds): an unacknowledged message a worker
    took before it is listed in ``held_long`` instead of naming its row in ``pks``."""
    view = BrokerView()
    seen = 0
    for key in (k for queue in queues for k in queue_keys(queue=queue, steps=steps)):
        for raw in _list_items(client, key):
            seen += 1
            if seen > MAX_MESSAGES:
                view.complete = False
                logger.warning("more than %s messages wait on the broker", MAX_MESSAGES)
                return view
            found = _task_and_pk(_loads(raw), pk_kwargs)
            if found is not None:
                task, _, pk = found
                waiting = view.tasks.setdefault(task, Waiting())
                waiting.queued += 1
                if pk is not None:
                    waiting.pks.add(pk)
    taken = (
        dict(client.zrange(UNACKED_INDEX, 0, -1, withscores=True)) if held_since is not None else {}
    )
    for tag, raw in client.hgetall(UNACKED).items():
        entry = _loads(raw)
        message = entry[0] if isinstance(entry, list) and entry else None
        found = _task_and_pk(message, pk_kwargs)
        if found is not None:
            task, message_id, pk = found
            waiting = view.tasks.setdefault(task, Waiting())
            waiting.unacked[message_id] = pk
            at = taken.get(tag)
            if at is not None and at < held_since:
                waiting.held_long.add(message_id)
            elif pk is not None:
                waiting.pks.add(pk)
    return view


def _list_items(client: redis.Redis, key: str) -> Iterator[bytes]:
    start = 0
    while True:
        items = client.lrange(key, start, start + CHUNK - 1)
        yield from items
        if len(items) < CHUNK:
            return
        start += CHUNK


def _loads(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, TypeError):
        return None


def _task_and_pk(message: Any, pk_kwargs: Mapping[str, str]) -> tuple[str, str, int | None] | None:
    """``(task, message id, pk named or None)`` of a message of one of the tasks, else None."""
    if not isinstance(message, dict):
        return None
    headers = message.get("headers")
    if not isinstance(headers, dict):
        return None
    task = headers.get("task")
    if task not in pk_kwargs:
        return None
    return str(task), str(headers.get("id") or ""), _pk(message, pk_kwargs[task])


def _pk(message: dict[str, Any], pk_kwarg: str) -> int | None:
    try:
        body = base64.b64decode(message["body"])
        kwargs = json.loads(body)[1]
        value = kwargs[pk_kwarg]
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
