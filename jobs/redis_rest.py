"""Redis that could not be reached is not tried again for a moment: later calls fail at once.

Each call to a Redis that vanished without closing the connection (a cut link, a host that
stopped answering) waits out its socket timeout (``REDIS_SOCKET_TIMEOUT``). One upload makes
several: the rate check, the rate count, the doorbell of its row. Each waited 5 s, so an
upload made during a 20 s cut of the link was answered only when the link came back
(``scripts/multihost.sh``), and every web thread it held was one fewer for everyone else.

After a call waited out its timeout (connecting or reading), calls to the same address fail
at once for :data:`REST_SECONDS`, with the error their callers already handle (the cache is a
shortcut everywhere it is used: docs/operators/board-cache.md; a publish that fails leaves its
row queued, published again once the broker answers: :mod:`jobs.republish`). Then one call
tries it (the others still fail at once while it waits); its answer ends the rest, or starts
another. A refused connection (Redis restarting) costs nothing to find out and starts no rest;
an error Redis answers (a wrong type, a script error) shows it reachable.

The publish rests the broker's address after any failure, not only a timeout
(``call_resting(..., rest_after_failure=)``, ``jobs.lifecycle.BROKER_REST_SECONDS``): its
transport retries a refused connection for about a second, and a command that queues many
jobs must fail at once, not once per job. What it could not publish is counted in
``jobs.publish_failures``.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

T = TypeVar("T")

REST_SECONDS = 2.0


class _Rest:
    """The state of one Redis address in this process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_until = 0.0  # monotonic; 0: reachable as far as this process knows
        self.was_down = False


_rests: dict[str, _Rest] = {}
_rests_lock = threading.Lock()


def rest_for(*, address: str) -> _Rest:
    """The rest of the Redis at ``address`` (a URL), one per address in this process."""
    with _rests_lock:
        return _rests.setdefault(address, _Rest())


def timeout_errors() -> tuple[type[BaseException], ...]:
    """What a Redis call raises when it waited out its timeout: Redis did not answer."""
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (RedisTimeoutError, TimeoutError)


def call_resting(*, address: str, call: Callable[[], T], rest_after_failure: float = 0.0) -> T:
    """``call()``, a call to the Redis at ``address``; raise redis's ``ConnectionError`` at
    once while that Redis rests (a call waited out its timeout less than
    :data:`REST_SECONDS` ago), and start a rest when ``call`` waits out its own.

    ``rest_after_failure``: any failure of ``call`` starts a rest this long (at least
    :data:`REST_SECONDS` after a timeout): a caller whose failures are costly however they
    come (the publish, whose transport retries a refused connection for a second) rests the
    address on all of them."""
    from redis.exceptions import ConnectionError

    rest = rest_for(address=address)
    with rest.lock:
        now = time.monotonic()
        if now < rest.down_until:
            raise ConnectionError(
                "Redis was unreachable less than a moment ago: not tried (jobs.redis_rest)"
            )
        probing = rest.was_down
        if probing:  # the others fail at once while this one waits for its answer
            rest.down_until = now + float(settings.REDIS_SOCKET_TIMEOUT) + REST_SECONDS
    try:
        result = call()
    except timeout_errors():
        _rest(rest, max(REST_SECONDS, rest_after_failure))
        raise
    except Exception:
        if rest_after_failure > 0:
            _rest(rest, rest_after_failure)
        else:
            _reachable(rest, probing)  # refused at once, or answered with an error of its own
        raise
    _reachable(rest, probing)
    return result


def _rest(rest: _Rest, seconds: float) -> None:
    with rest.lock:
        rest.down_until = time.monotonic() + seconds
        rest.was_down = True


def _reachable(rest: _Rest, probing: bool) -> None:
    if probing:
        with rest.lock:
            rest.down_until = 0.0
            rest.was_down = False


_CLIENT_CALLS = (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
)


class _RestingClient(RedisCacheClient):
    """Django's Redis cache client, each call through :func:`call_resting`."""

    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._address = servers[0]


def _resting(name: str) -> Callable[..., Any]:
    real = getattr(RedisCacheClient, name)

    @functools.wraps(real)
    def call(self: _RestingClient, *args: Any, **kwargs: Any) -> Any:
        return call_resting(address=self._address, call=lambda: real(self, *args, **kwargs))

    return call


for _name in _CLIENT_CALLS:
    setattr(_RestingClient, _name, _resting(_name))


class RestingRedisCache(RedisCache):
    """Django's Redis cache (``CACHES["default"]``) whose calls fail at once while its Redis
    rests (see the module)."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _RestingClient
