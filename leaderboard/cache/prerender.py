"""Boards rendered after a score lands, before any reader asks (issue 43: the rush as a
reader feels it). docs/operators/board-cache.md ("Rendered ahead") says where this sits among the
board cache's layers.

A board's anonymous readers are answered by the fast path (``leaderboard/cache/fastpath.py``)
from the response stored for their request's key. After a score the stored response is of
an older version: without this module the first reader past half the grace renders the new
one on the request path (the fast path's refresh ahead), holding a server's thread for a
render that takes seconds on a loaded host, and behind a shared cache (the deployment's
HAProxy) every reader misses at once when a copy expires and finds only that stale answer,
which the cache may not keep. So once a bump commits (``leaderboard.cache.bumps``),
:func:`request_after_bump` publishes ``task_names.RENDER_BOARDS`` for each board some anonymous
reader read lately (its stored request variants, ``fastpath.variants_key``), on a queue of its own
(:data:`QUEUE`, the Procfile's ``renders`` process); :func:`render` then renders each variant
read within :data:`READ_WITHIN_SECONDS` through Django, exactly as a reader's request with
that key would be rendered (the stored environ values), holding the board's rendering lock
so that readers meanwhile keep the last answer, and the fast path stores the new response.
A reader's miss then only reads stored bytes.

Coalesced per board: one render task pending at a time (:func:`_pending_key`, set when it is
published, removed when it starts, so a score during a render publishes the next one), and
a board in a rush renders at most once per :data:`SPACING` of the grace. Nothing here changes
what a reader may get: the stored answer's age rules (the grace, ``s-maxage``) are the fast
path's and the board cache's, applied as for a reader's render. Without the ``renders``
process (or with Redis away) the boards are renewed by their readers as before.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import sys
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache

from jobs import lifecycle
from jobs.celery import TASK_QUEUES
from leaderboard import task_names
from runtime.localredis import cache_unavailable_errors

from . import board_cache, fastpath

logger = logging.getLogger(__name__)

QUEUE = TASK_QUEUES[task_names.RENDER_BOARDS]  # declared with the task's name
# A request variant nobody read for this long is not rendered again (a reader's next read
# renders it, as before): the variants of a phase's old host, a query tried once.
READ_WITHIN_SECONDS = 60
# A board in a rush is rendered at most once per this part of the grace (the grace itself
# is how old a reader's board may be, so a render must start well within it).
SPACING = 0.25
# How long a published render is taken as pending if its message never runs (a lost
# message, no renders process): the next score after that publishes again.
PENDING_SECONDS = 30


def _pending_key(scope: str, pk: int) -> str:
    return f"leaderboard:render-pending:{scope}:{pk}"


def _last_key(scope: str, pk: int) -> str:
    return f"leaderboard:render-last:{scope}:{pk}"


def request_after_bump(boards: Iterable[tuple[str, int]]) -> int:
    """Publish a render of each of ``boards`` (just bumped) that anonymous readers read,
    unless one is pending; a board rendered less than :data:`SPACING` of the grace ago is
    rendered once that much has passed. Returns the renders published."""
    if not board_cache.enabled():
        return 0
    published = 0
    try:
        client = board_cache.redis_client()
        for scope, pk in boards:
            if not client.exists(cache.make_key(fastpath.variants_key(scope, pk))):
                continue  # nobody reads it anonymously: the first reader renders it
            pending = cache.make_key(_pending_key(scope, pk))
            if not client.set(pending, 1, nx=True, ex=PENDING_SECONDS):
                continue  # the pending render will render this version too
            last = client.get(cache.make_key(_last_key(scope, pk)))
            wait = (
                float(last) + SPACING * settings.BOARD_CACHE_GRACE_SECONDS - board_cache.now()
                if last is not None
                else 0.0
            )
            if lifecycle.publish(
                task_names.RENDER_BOARDS, countdown=wait if wait > 0 else None, scope=scope, pk=pk
            ):
                published += 1
            else:
                client.delete(pending)
    except cache_unavailable_errors():
        logger.warning("the board cache is unavailable: no board rendered ahead", exc_info=True)
    return published


def render(*, scope: str, pk: int) -> int:
    """Render the current version of each request variant of the board ``scope``/``pk``
    read within :data:`READ_WITHIN_SECONDS` whose stored answer is older, through Django,
    for the fast path to store. Returns the variants rendered."""
    if not board_cache.enabled():
        return 0
    client = board_cache.redis_client()
    now = board_cache.now()
    client.delete(cache.make_key(_pending_key(scope, pk)))  # a score from now on renders again
    client.set(cache.make_key(_last_key(scope, pk)), repr(now), ex=PENDING_SECONDS)
    members = client.zrangebyscore(
        cache.make_key(fastpath.variants_key(scope, pk)),
        now - settings.BOARD_CACHE_SECONDS,
        "+inf",
    )
    rendered = 0
    for stored_key in members:
        values, read, vkey, version, lock = client.hmget(
            stored_key, "environ", "read", "vkey", "version", "rendering"
        )
        if values is None or read is None or now - float(read) > READ_WITHIN_SECONDS:
            continue  # gone, or nobody read it lately
        if vkey is not None and client.get(vkey) == version:
            continue  # the current version is stored already
        token = secrets.token_hex(8)
        if lock and not client.set(lock, token, nx=True, ex=board_cache.RENDERING_LOCK_SECONDS):
            continue  # a reader renders it right now
        environ = _environ(json.loads(values))
        environ[fastpath.READ_AT] = read.decode()
        if lock:
            environ[fastpath.RENEW] = (lock.decode(), token)
        if _call(environ):
            rendered += 1
    return rendered


def _environ(values: list[str]) -> dict[str, Any]:
    """The WSGI environ of a ``GET`` with the keyed values a reader sent (``fastpath.key``'s:
    the same key, so the same stored answer); values a reader did not send stay out."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in zip(fastpath.KEYED_ENVIRON, values, strict=True):
        if value:
            environ[name] = value
    # The fast path must not answer it from the stored (older) answer: Django renders.
    environ[fastpath.ASKED] = True
    return environ


_handler = None


def _call(environ: dict[str, Any]) -> bool:
    """Django's own request handling (every middleware; ``BoardFastPathMiddleware`` stores
    the answer and gives the rendering lock back) of ``environ``: whether it answered 200."""
    global _handler
    if _handler is None:
        from django.core.handlers.wsgi import WSGIHandler

        _handler = WSGIHandler()
    answered: list[str] = []

    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        answered.append(status)

    result = _handler(environ, start_response)
    try:
        for _ in result:
            pass
    finally:
        result.close()
        fastpath.release(environ)
    return bool(answered) and answered[0].startswith("200")
