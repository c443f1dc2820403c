"""Boards rendered after a score lands, before any reader asks (issue 43: the rush as a
reader feels it). docs/operators/board-cache.md ("Rendered ahead") says where this sits among the
board cache's layers.

A board's anonymous readers are answered by the fast path (``leaderboard/cache/fastpath.py``)
from the response stored for their request's key. After a score the stored response is of
an older version: without this module the first reader past half the grace renders the new
one on the request path (the fast path's refresh ahead), holding a server's thread for a
render that takes seconds on a loaded host, and behind a shared cache (the deployment's
HAProxy) every reader misses at once when a copy expires and finds only that stale answer,
which the cache may not keep. So once a bump commits (``leaderboard.refresh``),
:func:`request_after_bump` publishes ``task_names.RENDER_BOARDS`` for each board some anonymous
reader read lately (its stored request variants, ``fastpath.variants_key``), on a queue of its own
(:data:`QUEUE`, the Procfile's ``renders`` process); :func:`render` then renders each variant
read within :data:`READ_WITHIN_SECONDS` through Django, exactly as a reader's request with
that key would be rendered (the stored environ values), holding the board's rendering lock
so that readers meanwhile keep the last answer, and the fast path stores the new response.
A reader's miss then only reads stored bytes.

Not only what anonymous readers read lately: every bumped board's answers are computed here
first (:func:`warm`), for every reader. Its page and API answer (a track's also its transfer
matrix's page and API, which carry P(first) and the decomposition) are rendered through
Django for a reader without cookie, on each split anonymous readers may see, which computes
and keeps in the board cache everything those answers are made of (the board, P(first), the
pairwise verdicts, the API's JSON, the shared page): the documents the views themselves
make, through the same views and selectors, so nothing here knows what a board holds. A
participant's or organizer's first read after a score (a signed-in page, a token's API
answer) then only renders around kept values, and an anonymous reader's finds the page
stored. Such a warming request holds no request variant of its own: the fast path does not
keep its answer (its host is the platform's own, not a reader's), and it renders the current
version even in a rush (the grace's shortcut is for readers). docs/operators/board-cache.md
("Computed when the score lands").

Coalesced per board: one render task pending at a time (:func:`_pending_key`, set when it is
published, removed when it starts, so a score during a render publishes the next one), and
a board in a rush renders at most once per :data:`SPACING` of the grace. Nothing here changes
what a reader may get: the stored answer's age rules (the grace, ``s-maxage``) are the fast
path's and the board cache's, applied as for a reader's render. Without the ``renders``
process (or with Redis away) the boards are renewed by their readers as before.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import secrets
import sys
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from challenges.models import Track
from datasets.models import Task
from jobs import lifecycle
from jobs.celery import TASK_QUEUES, celery_app
from leaderboard import task_names
from runtime.localredis import cache_unavailable_errors

from . import board_cache, connection, fastpath

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


def _warmed_key(scope: str, pk: int) -> str:
    """The board's version whose answers :func:`warm` computed last."""
    return f"leaderboard:render-warmed:{scope}:{pk}"


def _last_key(scope: str, pk: int) -> str:
    return f"leaderboard:render-last:{scope}:{pk}"


def request_after_bump(*, boards: Iterable[tuple[str, int]]) -> int:
    """Publish a render of each of ``boards`` (just bumped), unless one is pending; a board
    rendered less than :data:`SPACING` of the grace ago is rendered once that much has
    passed. Returns the renders published."""
    if not connection.enabled():
        return 0
    published = 0
    try:
        client = connection.redis_client()
        for scope, pk in boards:
            pending = cache.make_key(_pending_key(scope, pk))
            if not client.set(pending, 1, nx=True, ex=PENDING_SECONDS):
                continue  # the pending render will render this version too
            last = client.get(cache.make_key(_last_key(scope, pk)))
            wait = (
                float(last) + SPACING * settings.BOARD_CACHE_GRACE_SECONDS - connection.now()
                if last is not None
                else 0.0
            )
            if lifecycle.publish(
                task_name=task_names.RENDER_BOARDS,
                countdown=wait if wait > 0 else None,
                scope=scope,
                pk=pk,
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
    for the fast path to store; then compute every other answer of it for every reader
    (:func:`warm`). Returns the answers rendered (stored and warmed)."""
    if not connection.enabled():
        return 0
    client = connection.redis_client()
    now = connection.now()
    client.delete(cache.make_key(_pending_key(scope, pk)))  # a score from now on renders again
    client.set(cache.make_key(_last_key(scope, pk)), repr(now), ex=PENDING_SECONDS)
    # The variants readers read first (their answers are what a reader's miss finds), then
    # every other answer (most of it computed by then: the same kept values).
    rendered = _render_read(client, scope, pk, now)
    return rendered + warm(scope=scope, pk=pk)


def _render_read(client: Any, scope: str, pk: int, now: float) -> int:
    """Render each variant of the board read lately whose stored answer is older."""
    members = client.zrangebyscore(
        cache.make_key(fastpath.variants_key(scope=scope, pk=pk)),
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


# The answers computed for every reader after a bump, by URL name: a task's board page and API;
# a track's board page and API (P(first), the pairwise verdicts) and its transfer matrix's.
WARMED_ROUTES = {
    board_cache.TASK: ("leaderboard:task", "api-task-leaderboard"),
    board_cache.TRACK: (
        "leaderboard:track",
        "api-track-leaderboard",
        "leaderboard:track-transfer",
        "api-track-transfer",
    ),
}
# The environ's mark of a warming request: the fast path keeps no answer of it
# (``fastpath.store``), and the board cache renders the current version at once
# (``board_cache.page``, ``board_cache.api_response``: no grace's shortcut).
WARMING = board_cache.WARM_ENVIRON


def warm(*, scope: str, pk: int) -> int:
    """Compute and keep the current version of every answer of the board ``scope``/``pk``
    (:data:`WARMED_ROUTES`) on each split anonymous readers may see, through Django's own
    request handling of a reader without cookie. Returns the answers made (200s)."""
    model = Task if scope == board_cache.TASK else Track
    board = (
        model.objects.filter(pk=pk)
        .select_related("track__challenge" if scope == board_cache.TASK else "challenge")
        .first()
    )
    if board is None:
        return 0  # deleted since the bump
    challenge = board.track.challenge if scope == board_cache.TASK else board.challenge
    client = connection.redis_client()
    marker = cache.make_key(_warmed_key(scope, pk))
    version = str(board_cache._version(scope, pk)).encode()
    if client.get(marker) == version:
        return 0  # this version is computed already (a message delivered twice)
    queries = [""]
    if challenge.private_visible():
        queries.append("split=private")  # the default split is the public one
    made = 0
    for name in WARMED_ROUTES.get(scope, ()):
        path = reverse(name, kwargs={"slug": board.slug})
        for query in queries:
            try:
                made += _call(_warming_environ(path, query))
            except Exception:  # one answer's failure must not keep the others cold
                logger.exception("warming %s?%s after a score failed", path, query)
    client.set(marker, version, ex=settings.BOARD_CACHE_SECONDS)
    return made


def _warming_environ(path: str, query: str) -> dict[str, Any]:
    """The environ of a ``GET`` of ``path`` by a reader without cookie or credentials, sent
    to the platform's own host (the first of ``ALLOWED_HOSTS``), over HTTPS when the site
    redirects plain HTTP there."""
    secure = bool(getattr(settings, "SECURE_SSL_REDIRECT", False))
    host = _own_host()
    environ = _environ([""] * len(fastpath.KEYED_ENVIRON))
    environ.update(
        {
            "wsgi.url_scheme": "https" if secure else "http",
            "HTTP_HOST": host,
            "SERVER_NAME": host,
            "SERVER_PORT": "443" if secure else "80",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "HTTP_ACCEPT": "application/json" if path.startswith("/api/") else "text/html",
            WARMING: True,
        }
    )
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if secure and proxy:
        environ[proxy[0]] = proxy[1]
    return environ


def _own_host() -> str:
    """A host name ``ALLOWED_HOSTS`` admits: its first name (a wildcard's domain), else
    ``localhost``."""
    for host in settings.ALLOWED_HOSTS:
        if host and host != "*":
            return host.lstrip(".")
    return "localhost"


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


# What a board's computation imports on its first run in a process (the comparisons' and the
# decomposition's statistics, the data stack of the resamples), which a command leaves out of
# its start (docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md): seconds on a
# loaded host, which the first read after a score would otherwise wait for in every new
# process of the web, the board server and the renders worker.
PRELOADED = (
    "scipy.stats",
    "statsmodels.api",
    "pandas",
    "leaderboard.views",
    "leaderboard.api",
    "leaderboard.transfer.api",
    "leaderboard.transfer.benchmark",
)


def preload_in_renders_worker(**sent: object) -> None:
    """Celery's ``worker_process_init`` (connected by ``LeaderboardConfig`` where the Celery
    app is made): a process of a worker that consumes :data:`QUEUE` (the renders worker)
    imports what its first render needs (:func:`preload`), so that the first board after a
    score is not a cold one. (That worker keeps the scoring workers' CPU priority: at the
    web's, in a rush it fell behind the scores, the boards went past their grace, and the
    board server rendered them on readers' requests instead: docs/developers/benchmarks.md,
    "Speed round 5".)"""
    try:
        consumed = celery_app().amqp.queues.consume_from or {}
    except AttributeError:
        return
    if QUEUE in consumed:
        preload()


def preload() -> None:
    """Import :data:`PRELOADED` now: a long-running process that computes boards (a web or
    board server's worker, named by ``SERVER_PRELOAD``; the renders worker, at its start)
    calls it before its first request or task, not on a reader's request."""
    for name in PRELOADED:
        try:
            importlib.import_module(name)
        except ImportError:  # a missing optional package: its first use says so
            logger.warning("preloading %s failed", name, exc_info=True)


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
        fastpath.release(environ=environ)
    return bool(answered) and answered[0].startswith("200")
