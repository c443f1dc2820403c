"""Boards served from the cache under versioned keys (issue 15, "deadline rush").

A board's key holds a version counter of its task (or track) and what else changes the
cached value (the split, the kind of value). A refresh of a task's entries, or new bootstrap
intervals, bump the task's and its track's versions once their transaction commits
(:func:`bump_after_commit`), so the next read misses and rebuilds: never a stale board after
a score. Old keys are never deleted; they expire after ``BOARD_CACHE_SECONDS``.

What is cached is the same for every viewer: the rows of one split, the API's JSON, and whole
pages only as rendered for an anonymous visitor sending no cookie (:func:`page`). Who may see
the private split is decided on every request *before* the cache is read
(``selectors.split_requested``); for everyone else the page is rendered per request from the
cached rows (their name, staff links, messages, CSRF token). So one viewer's view is never
served to another.

``BOARD_CACHE=0`` (setting ``BOARD_CACHE``) turns it off: every read computes; so does a
cache private to one process (the test settings' local memory), which a worker's refresh
could not invalidate.

The cache is only a shortcut: while Redis cannot be reached (a cut link, a restart) reads
compute from the database and a refresh's bump is logged and skipped (the boards it would
have invalidated expire within ``BOARD_CACHE_SECONDS``, or at the next refresh's bump).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from redis import RedisError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

T = TypeVar("T")

logger = logging.getLogger(__name__)

# What a cache backend raises when its server cannot be reached (Django's Redis backend
# raises redis-py's errors; a socket may raise OSError).
UNAVAILABLE = (RedisError, OSError)

TASK = "task"
TRACK = "track"


# Caches private to one process: a refresh made by a worker could never reach the web
# process's copy, so with these the boards are read from the database.
PROCESS_LOCAL = ("LocMemCache", "DummyCache")


def enabled() -> bool:
    if not getattr(settings, "BOARD_CACHE", True):
        return False
    return not settings.CACHES["default"]["BACKEND"].endswith(PROCESS_LOCAL)


def _version_key(scope: str, pk: int) -> str:
    return f"leaderboard:board-version:{scope}:{pk}"


def _version(scope: str, pk: int) -> int:
    key = _version_key(scope, pk)
    value = cache.get(key)
    if value is None:
        # A counter lost (eviction, a new Redis) restarts from the clock, above any version
        # the old cached values could carry.
        cache.add(key, time.time_ns() // 1000, timeout=None)
        value = cache.get(key)
    return int(value)


def _bump(scope: str, pk: int) -> None:
    key = _version_key(scope, pk)
    try:
        cache.incr(key)
    except ValueError:  # absent: start from the clock (above any earlier version)
        if not cache.add(key, time.time_ns() // 1000, timeout=None):
            cache.incr(key)


def bump(*, task_id: int, track_id: int | None) -> None:
    """The boards of ``task_id`` (and of its track) changed: the next read rebuilds them."""
    try:
        _bump(TASK, task_id)
        if track_id is not None:
            _bump(TRACK, track_id)
    except UNAVAILABLE:
        logger.warning(
            "the board cache is unavailable: the cached boards of task %s were not "
            "invalidated (they expire within BOARD_CACHE_SECONDS)",
            task_id,
            exc_info=True,
        )


def bump_after_commit(*, task_id: int, track_id: int | None) -> None:
    """:func:`bump` once the caller's transaction commits (at once outside one): a reader
    between the change and the commit would otherwise cache the old board under the new
    version."""
    transaction.on_commit(lambda: bump(task_id=task_id, track_id=track_id))


def _key(scope: str, pk: int, *parts: str) -> str:
    return f"leaderboard:board:{scope}:{pk}:v{_version(scope, pk)}:{':'.join(parts)}"


def cached(scope: str, pk: int, *parts: str, compute: Callable[[], T]) -> T:
    """``compute()``, kept under ``scope``/``pk``'s current version and ``parts``.

    ``parts`` must name everything the value depends on besides the board's rows (the split,
    which rendering); nothing in it may depend on who is asking.
    """
    if not enabled():
        return compute()
    try:
        key = _key(scope, pk, *parts)
        value = cache.get(key)
    except UNAVAILABLE:
        return compute()  # the cache is a shortcut; the database answers
    if value is None:
        value = compute()
        with contextlib.suppress(*UNAVAILABLE):
            cache.set(key, value, timeout=settings.BOARD_CACHE_SECONDS)
    return value


def _shareable(request: HttpRequest) -> bool:
    """A request whose whole page is the same for everyone sending it: anonymous, with no
    cookie at all (no session, no flashed message, no CSRF cookie to echo)."""
    user = getattr(request, "user", None)
    return enabled() and not request.COOKIES and not (user and user.is_authenticated)


def page(
    request: HttpRequest, scope: str, pk: int, split: str, render: Callable[[], HttpResponse]
) -> HttpResponse:
    """A board page: rendered whole from the cache for a cookie-less anonymous visitor (the
    bulk of a rush's readers); rendered per request, from the cached rows, for anyone else
    (their name, staff links, messages and CSRF token are theirs)."""
    key, hit = None, None
    if _shareable(request):
        try:
            key = _key(scope, pk, "page", split, request.path)
            hit = cache.get(key)
        except UNAVAILABLE:
            key = None  # rendered from the database, not kept
    if hit is not None:
        content, content_type = hit
        response = HttpResponse(content, content_type=content_type)
    else:
        response = render()
        if key is not None and response.status_code == 200 and not response.cookies:
            with contextlib.suppress(*UNAVAILABLE):
                cache.set(
                    key,
                    (response.content, response["Content-Type"]),
                    timeout=settings.BOARD_CACHE_SECONDS,
                )
    patch_vary_headers(response, ["Cookie"])
    return response


def api_response(
    request: Request, scope: str, pk: int, split: str, compute: Callable[[], dict]
) -> HttpResponse:
    """A board's API answer: plain JSON (what clients ask for) served as the cached bytes;
    another renderer (the browsable API) renders the cached payload."""
    payload = lambda: cached(scope, pk, "api", split, compute=compute)  # noqa: E731
    renderer = getattr(request, "accepted_renderer", None)
    if (
        not enabled()
        or not isinstance(renderer, JSONRenderer)
        or request.accepted_media_type != "application/json"
    ):
        return Response(payload())
    body = cached(
        scope, pk, "api-json", split, compute=lambda: renderer.render(payload(), "application/json")
    )
    return HttpResponse(body, content_type="application/json")
